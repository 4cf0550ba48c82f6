"""The signup's welcome email, end to end: the real worker sends it through the provider (the local
fake Postmark) from the new workspace's outbox, branded with its name."""

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenants.models import Tenant
from tests.outbox.rows import wait_for_status
from tests.signup.conftest import PASSWORD, signup_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_welcome_email_reaches_the_new_owner_through_the_worker(
    visitor, tenant, clean_outbox, outbox_worker, email_settings, fake_postmark
):
    outbox_worker.ping()  # tasks of earlier tests are done before the fake's record is cleared
    fake_postmark.reset()

    assert visitor.post("/signup/", signup_data()).status_code == 302

    new = Tenant.objects.get(slug="initech")
    with tenant_context(new):
        [queued] = OutboxMessage.objects.all()
    sent = wait_for_status(new.schema_name, queued.public_id, OutboxMessage.Status.SENT)
    [submission] = fake_postmark.accepted()
    assert submission.data["To"] == "peter@initech.test"
    assert submission.data["Subject"] == "Welcome to Initech, your new workspace"
    assert submission.metadata["tenant"] == "initech"
    assert new.url("/accounts/sign-in/") in submission.data["TextBody"]
    assert PASSWORD not in submission.data["TextBody"] + submission.data["HtmlBody"]
    assert sent.provider_message_id == submission.message_id
