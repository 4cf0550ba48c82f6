"""The digest, the way beat runs it: one task in public fans out to every active tenant, and a real
worker runs each tenant's digest in that tenant's schema."""

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects.models import DigestDelivery, Project, Task
from tenant_apps.projects.tasks import send_due_digests
from tests.worker import wait_until


@pytest.fixture
def due_tasks(tenant, other_tenant, make_role_user, clean_outbox):
    from tenant_apps.accounts.roles import Role

    people = {}
    for where in (tenant, other_tenant):
        person = make_role_user(f"due@{where.slug}.test", Role.MEMBER, where)
        with tenant_context(where):
            project = Project.objects.create(name="Due soon")
            Task.objects.create(
                project=project, title=f"{where.slug} task", assignee=person, due_date=timezone.localdate()
            )
        people[where.schema_name] = person
    yield people
    for where in (tenant, other_tenant):  # committed rows in the tenant schemas: ours to remove
        with tenant_context(where):
            DigestDelivery.objects.all().delete()
            Project.objects.filter(name="Due soon").delete()
            people[where.schema_name].delete()


def test_beat_fans_the_digest_out_to_each_tenant_in_its_own_schema(due_tasks, outbox_worker, email_settings):
    send_due_digests.delay()
    send_due_digests.delay()  # beat fired twice

    def digests():
        found = {}
        for schema in due_tasks:
            with schema_context(schema):
                found[schema] = list(OutboxMessage.objects.filter(template="projects/due_digest"))
        return found if all(found.values()) else None

    found = wait_until(digests)
    for schema, person in due_tasks.items():
        [digest] = found[schema]
        assert digest.to == [person.email]
        assert f"{schema} task" in digest.body_text
        other = "globex" if schema == "acme" else "acme"
        assert f"{other} task" not in digest.body_text
    # Both fan-outs ran before any digest existed, so each tenant task they enqueued is ahead of
    # this ping: once it has run, a second digest would be there.
    outbox_worker.ping()
    for schema in due_tasks:
        with schema_context(schema):
            assert OutboxMessage.objects.filter(template="projects/due_digest").count() == 1
