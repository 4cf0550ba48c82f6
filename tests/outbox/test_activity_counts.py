"""The worker counts each tenant's sent and failed emails in Redis (tenants/activity.py), which
the global admin's busiest-tenants panels read without touching any tenant's schema."""

import pytest
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import queue_email, queue_platform_email
from tenants import activity
from tests.isolation import delete_suite_cache_keys
from tests.outbox.rows import wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxMessage.Status


@pytest.fixture
def fresh_counts():
    activity.flush()
    delete_suite_cache_keys()


def queue_hello(tenant, to="ann@example.com"):
    with tenant_context(tenant):
        return queue_email([to], "outboxtest/hello", {"name": "Ann"})


def test_the_worker_counts_sent_and_failed_emails_per_tenant(
    fresh_counts, outbox, outbox_worker, tenant, other_tenant
):
    outbox.refuse("not-a-mailbox@example.com")
    sent = [queue_hello(tenant), queue_hello(tenant), queue_hello(other_tenant)]
    for message, schema in zip(sent, ["acme", "acme", "globex"], strict=True):
        wait_for_status(schema, message.public_id, Status.SENT)
    failed = queue_hello(tenant, to="not-a-mailbox@example.com")
    wait_for_status("acme", failed.public_id, Status.FAILED)
    outbox_worker.ping()  # the task that wrote "failed" has finished, its count with it

    assert activity.top_tenants(activity.EMAILS_SENT, "day") == [("acme", 2), ("globex", 1)]
    assert activity.top_tenants(activity.EMAILS_FAILED, "hour") == [("acme", 1)]


def test_the_platforms_own_emails_count_for_no_tenant(fresh_counts, outbox, outbox_worker, tenant):
    with schema_context(get_public_schema_name()):
        platform = queue_platform_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})
    wait_for_status("public", platform.public_id, Status.SENT)
    tenants_email = queue_hello(tenant)
    wait_for_status("acme", tenants_email.public_id, Status.SENT)
    outbox_worker.ping()  # both tasks have finished, their counts with them

    assert activity.top_tenants(activity.EMAILS_SENT, "day") == [("acme", 1)]
