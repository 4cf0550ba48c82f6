"""Fixtures of the outbox tests. The worker, the fake Postmark server and the email settings are
the suite's (tests/conftest.py); the helpers live in tests/outbox/rows.py and are importable
from here too, for tests written against the old layout."""

import pytest

from tests.mail_config import TEMPLATES_DIR, WEBHOOK_SECRET
from tests.outbox.rows import delete_outbox_rows, row, wait_for_status, wait_until

__all__ = ["TEMPLATES_DIR", "WEBHOOK_SECRET", "delete_outbox_rows", "row", "wait_for_status", "wait_until"]


@pytest.fixture
def outbox(tenant, other_tenant, clean_outbox, outbox_worker, email_settings, fake_postmark):
    """Everything an end-to-end outbox test needs: both tenants, a worker, the fake provider.

    Tasks left on the queue by earlier tests (their rows are gone) are run before the fake's
    record is cleared, so none of them can show up as a submission of this test."""
    outbox_worker.ping()
    fake_postmark.reset()
    return fake_postmark
