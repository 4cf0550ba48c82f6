"""A suspended tenant is held everywhere, and let go by reactivation, whichever door did it.

Pages answer the suspended page (403), the API ``403 {"detail": ...}`` (never the operator's
reason), beat's per-tenant jobs pass it by (tenants/fanout.py) and its queued emails wait without
spending an attempt (tenant_apps/outbox) -- through a real worker, a real outbox and the fake
provider. Each "did not happen" is asserted only after the other tenant's matching work is seen
done, which the held work would have come before or beside. Suspending and reactivating go through
the one lifecycle service from every door: the service itself, the global admin's actions, the
operator API and the commands.
"""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import queue_email
from tenant_apps.projects.models import DigestDelivery, Project, Task
from tenant_apps.projects.tasks import send_due_digests
from tenants.models import Tenant
from tenants.services import reactivate_tenant, suspend_tenant
from tests.clients import api_client_for, host_client, issue_token
from tests.outbox.rows import row, wait_for_status
from tests.worker import wait_until

Status = OutboxMessage.Status
SUSPENDED_API = {"detail": "This workspace is suspended."}
REASON = "unpaid invoice 4711"


def assert_held(tenant, token: str) -> None:
    """Pages: the suspended page; API, even with a token issued before: 403 JSON, no reason."""
    page = host_client(tenant.primary_host).get("/projects/")
    assert page.status_code == 403 and b"This workspace is suspended" in page.content
    api = api_client_for(tenant.primary_host, token).get("/api/v1/me/")
    assert api.status_code == 403 and api.json() == SUSPENDED_API
    assert b"4711" not in page.content + api.content


def assert_running(tenant, token: str) -> None:
    assert host_client(tenant.primary_host).get("/accounts/sign-in/").status_code == 200
    api = api_client_for(tenant.primary_host, token).get("/api/v1/me/")
    assert api.status_code == 200 and api.json()["email"] == "owner@acme.test"


# --- Every door suspends and reactivates -------------------------------------------------------


def _by_service(tenant, operator):
    return lambda: suspend_tenant(tenant, REASON), lambda: reactivate_tenant(tenant)


def _by_global_admin(tenant, operator):
    client = host_client(settings.BASE_DOMAIN)
    client.force_login(operator)

    def act(action):
        response = client.post("/admin/tenants/tenant/", {"action": action, "_selected_action": [tenant.pk]})
        assert response.status_code == 302

    return lambda: act("suspend_selected"), lambda: act("reactivate_selected")


def _by_operator_api(tenant, operator):
    client = api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))

    def act(verb, body=None):
        response = client.post(f"/api/v1/tenants/{tenant.public_id}/{verb}/", body, format="json")
        assert response.status_code == 200

    return lambda: act("suspend", {"reason": REASON}), lambda: act("reactivate")


def _by_command(tenant, operator):
    return (
        lambda: call_command("suspend_tenant", tenant.slug, "--reason", REASON, stdout=StringIO()),
        lambda: call_command("reactivate_tenant", tenant.slug, stdout=StringIO()),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("door", [_by_service, _by_global_admin, _by_operator_api, _by_command])
def test_every_door_holds_the_pages_and_api_of_a_suspended_tenant_and_reactivation_lets_them_go(
    tenant, owner, operator, door
):
    token = issue_token(tenant, owner)
    suspend, reactivate = door(tenant, operator)
    assert_running(tenant, token)

    suspend()

    stored = Tenant.objects.get(pk=tenant.pk)
    assert stored.status == Tenant.Status.SUSPENDED
    assert_held(tenant, token)

    reactivate()

    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    assert_running(tenant, token)


@pytest.mark.django_db
def test_suspending_acme_leaves_globex_running(tenant, other_tenant, stranger):
    suspend_tenant(tenant, REASON)

    assert host_client(other_tenant.primary_host).get("/accounts/sign-in/").status_code == 200
    api = api_client_for(other_tenant.primary_host, issue_token(other_tenant, stranger)).get("/api/v1/me/")
    assert api.status_code == 200


# --- Periodic jobs and emails, through the real worker ------------------------------------------


@pytest.fixture
def due_tasks(tenant, other_tenant, make_role_user, clean_outbox, email_settings):
    """A task due today for a member of each tenant: the daily digest has work in both."""
    for where in (tenant, other_tenant):
        person = make_role_user(f"held@{where.slug}.test", Role.MEMBER, where)
        with tenant_context(where):
            project = Project.objects.create(name="Held")
            Task.objects.create(
                project=project, title=f"{where.slug} task", assignee=person, due_date=timezone.localdate()
            )


def digests_claimed(schema: str) -> int:
    with schema_context(schema):
        return DigestDelivery.objects.count()


@pytest.mark.django_db(transaction=True)
def test_beats_fan_out_passes_a_suspended_tenant_by_and_runs_the_others(due_tasks, outbox_worker):
    suspend_tenant(Tenant.objects.get(slug="acme"), REASON)

    send_due_digests.delay()  # what beat sends, in the public schema

    # The fan-out enqueues one task per active tenant in schema order (acme before globex) on a
    # worker that runs one task at a time: once globex's has run, acme's would have too.
    wait_until(lambda: digests_claimed("globex") == 1)
    assert digests_claimed("acme") == 0

    reactivate_tenant(Tenant.objects.get(slug="acme"))
    send_due_digests.delay()
    wait_until(lambda: digests_claimed("acme") == 1)


@pytest.fixture
def outbox(tenant, other_tenant, clean_outbox, outbox_worker, email_settings, fake_postmark):
    outbox_worker.ping()  # tasks left by earlier tests have run before the record is cleared
    fake_postmark.reset()
    return fake_postmark


def queue_hello(tenant, to: str) -> OutboxMessage:
    with tenant_context(tenant):
        return queue_email([to], "outboxtest/hello", {"name": "Ann"})


@pytest.mark.django_db(transaction=True)
def test_a_suspended_tenants_queued_email_waits_while_others_leave_and_goes_once_reactivated(
    outbox, outbox_worker, tenant, other_tenant
):
    suspend_tenant(tenant, REASON)
    held = queue_hello(tenant, "ann@acme.test")
    other = queue_hello(other_tenant, "bob@globex.test")

    # acme's send task was enqueued first, on a worker that runs one task at a time.
    wait_for_status("globex", other.public_id, Status.SENT)
    waiting = row("acme", held.public_id)
    assert (waiting.status, waiting.attempts) == (Status.QUEUED, 0)
    assert [s.data["To"] for s in outbox.submissions] == ["bob@globex.test"]

    reactivate_tenant(tenant)

    sent = wait_for_status("acme", held.public_id, Status.SENT)
    assert sent.attempts == 1
    assert sorted(s.data["To"] for s in outbox.submissions) == ["ann@acme.test", "bob@globex.test"]
