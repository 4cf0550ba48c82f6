"""A suspended tenant's emails wait, queued, until it is reactivated; a tenant that is gone sends
nothing (README.md, "Email delivery")."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tenant_apps.outbox import sending
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import enqueue_send, queue_email
from tenant_apps.outbox.tasks import recover_all_tenants
from tenants.services import reactivate_tenant, suspend_tenant
from tests.outbox.rows import row, wait_for_status

Status = OutboxMessage.Status


def queue_hello(tenant, to="ann@example.com"):
    with tenant_context(tenant):
        return queue_email([to], "outboxtest/hello", {"name": "Ann"})


@pytest.mark.django_db(transaction=True)
def test_a_suspended_tenants_email_waits_queued_and_leaves_once_the_tenant_is_reactivated(
    outbox, outbox_worker, tenant, other_tenant
):
    suspend_tenant(tenant, "unpaid invoice")

    held = queue_hello(tenant)
    outbox_worker.ping()  # its send task has run

    waiting = row("acme", held.public_id)
    assert (waiting.status, waiting.attempts) == (Status.QUEUED, 0)
    assert outbox.submissions == []
    # Beat's recovery passes the suspended tenant by; globex's mail is unaffected.
    recover_all_tenants.delay()
    outbox_worker.ping()
    outbox_worker.ping()
    other = queue_hello(other_tenant, to="bob@globex.test")
    wait_for_status("globex", other.public_id, Status.SENT)
    assert row("acme", held.public_id).status == Status.QUEUED
    assert [s.data["To"] for s in outbox.submissions] == ["bob@globex.test"]

    reactivate_tenant(tenant)

    sent = wait_for_status("acme", held.public_id, Status.SENT)
    assert sent.attempts == 1
    assert sorted(s.data["To"] for s in outbox.submissions) == ["ann@example.com", "bob@globex.test"]


@pytest.mark.django_db(transaction=True)
def test_a_send_task_for_a_tenant_that_is_gone_sends_nothing_and_the_worker_carries_on(
    outbox, outbox_worker, tenant
):
    # What a deleted tenant leaves behind: a task naming a schema no tenant has any more.
    assert enqueue_send(1, "deleted_tenant")
    outbox_worker.ping()

    message = queue_hello(tenant)

    wait_for_status("acme", message.public_id, Status.SENT)
    assert [s.data["To"] for s in outbox.submissions] == ["ann@example.com"]


@pytest.mark.django_db
def test_a_send_task_that_runs_in_the_public_schema_never_claims_a_tenants_row(tenant):
    # The public schema has an outbox of its own (the platform's emails, queue_platform_email);
    # a task there reads only that table, never a tenant's row of the same id.
    with tenant_context(tenant):
        message = OutboxMessage.objects.create(
            to=["ann@example.com"],
            from_email="a@b.test",
            template="outboxtest/hello",
            subject="Hi",
            body_text="Hi",
        )
    connection.set_schema_to_public()
    assert not OutboxMessage.objects.filter(id=message.id).exists()

    assert sending.deliver_message(message.id) == "not claimed"
    assert row("acme", message.public_id).status == OutboxMessage.Status.QUEUED
