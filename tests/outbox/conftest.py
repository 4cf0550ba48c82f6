"""Fixtures of the outbox tests: a real Celery worker on the real Redis broker, and the real
anymail Postmark backend talking to a local server that speaks Postmark's API.

The worker runs in a thread of the test process (celery.contrib.testing), so it uses the test
database and sees the settings a test changes; it has its own database connection, so it sees
only committed rows: these tests are transactional and delete the outbox rows they leave in the
tenant schemas (the flush at the end of a transactional test truncates public tables only).
"""

import time
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenant_apps.outbox.models import OutboxMessage
from tests.outbox.fake_postmark import FakePostmark

TEMPLATES_DIR = Path(__file__).parent / "templates"
WEBHOOK_SECRET = "postmark:webhook-secret"


@pytest.fixture(scope="session")
def fake_postmark():
    server = FakePostmark(hang_seconds=2.0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def outbox_worker(django_db_setup, django_db_blocker):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.worker_hijack_root_logger = False
    # Messages left by an earlier, interrupted run must not be delivered into this one.
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                      shutdown_timeout=30) as worker:
        yield worker


@pytest.fixture
def email_settings(settings, fake_postmark):
    """The production path (anymail's Postmark backend) against the fake, with fast retries."""
    fake_postmark.reset()
    settings.EMAIL_PROVIDER = "postmark"
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "test-token", "POSTMARK_API_URL": fake_postmark.url,
                        "WEBHOOK_SECRET": WEBHOOK_SECRET, "REQUESTS_TIMEOUT": 1}
    settings.DEFAULT_FROM_EMAIL = "no-reply@platform.test"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_BASE_SECONDS = 0.1
    settings.OUTBOX_RETRY_MAX_SECONDS = 0.3
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [TEMPLATES_DIR]}]
    yield settings
    fake_postmark.reset()


def delete_outbox_rows():
    for schema in ("acme", "globex"):
        with schema_context(schema):
            OutboxMessage.objects.all().delete()
    connection.set_schema_to_public()


@pytest.fixture
def clean_outbox(transactional_db):
    delete_outbox_rows()
    yield
    delete_outbox_rows()


@pytest.fixture
def outbox(tenant, other_tenant, clean_outbox, outbox_worker, email_settings, fake_postmark):
    """Everything an end-to-end outbox test needs: both tenants, a worker, the fake provider."""
    return fake_postmark


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        time.sleep(interval)


def row(schema: str, public_id) -> OutboxMessage:
    with schema_context(schema):
        return OutboxMessage.objects.get(public_id=public_id)


def wait_for_status(schema: str, public_id, *statuses: str, timeout: float = 10.0) -> OutboxMessage:
    def settled():
        message = row(schema, public_id)
        return message if message.status in statuses else None

    return wait_until(settled, timeout)
