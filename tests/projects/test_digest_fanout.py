"""The digest reaches tenants the way all per-tenant periodic work does (tenants/fanout.py): one
task per active tenant, in its schema; a suspended tenant gets none until it is reactivated."""

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects.models import DigestDelivery, Project, Task
from tenant_apps.projects.tasks import send_due_digests, send_tenant_due_digest
from tenants.fanout import active_tenant_schemas, for_each_active_tenant
from tenants.services import suspend_tenant


@pytest.fixture
def due_tasks(tenant, other_tenant, make_role_user, clean_outbox):
    for where in (tenant, other_tenant):
        person = make_role_user(f"fanout@{where.slug}.test", Role.MEMBER, where)
        with tenant_context(where):
            project = Project.objects.create(name="Fan-out")
            Task.objects.create(
                project=project, title=f"{where.slug} task", assignee=person, due_date=timezone.localdate()
            )
    yield
    for where in (tenant, other_tenant):  # committed rows in the tenant schemas: ours to remove
        with tenant_context(where):
            DigestDelivery.objects.all().delete()
            Project.objects.filter(name="Fan-out").delete()


def digests(schema: str) -> int:
    with schema_context(schema):
        return OutboxMessage.objects.filter(template="projects/due_digest").count()


@pytest.mark.django_db(transaction=True)
def test_the_digest_fan_out_passes_a_suspended_tenant_by(
    due_tasks, other_tenant, outbox_worker, email_settings
):
    suspend_tenant(other_tenant, "unpaid invoice")

    send_due_digests.delay()
    outbox_worker.ping()  # the fan-out has run...
    outbox_worker.ping()  # ...and the tenant tasks it enqueued

    assert digests("acme") == 1
    assert digests("globex") == 0


@pytest.mark.django_db
def test_the_fan_out_enqueues_one_task_per_active_tenant_in_its_schema(tenant, other_tenant, monkeypatch):
    sent = []
    monkeypatch.setattr(
        send_tenant_due_digest,
        "apply_async",
        lambda args, kwargs, headers: sent.append((args, kwargs, headers)),
    )
    suspend_tenant(other_tenant, "unpaid invoice")

    assert for_each_active_tenant(send_tenant_due_digest, "2030-01-01") == 1

    assert active_tenant_schemas() == ["acme"]
    assert sent == [(("2030-01-01",), {}, {"_schema_name": "acme"})]
