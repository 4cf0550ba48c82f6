"""Soft delete, restore and purge (tenants.lifecycle), through the service, the global admin, the
operator API, the CLI and the beat job on a real worker. The tenants here are the tests' own."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from tenant_apps.outbox.sending import sending_refused
from tenants import fanout, services
from tenants.lifecycle import SUSPENDED_BEFORE_DELETION
from tenants.models import Tenant
from tenants.tasks import purge_deleted
from tests.clients import api_client_for, host_client, issue_token, signed_in_client
from tests.tenants.lifecycle_helpers import fill, make_tenant, owner_of, read_back

pytestmark = pytest.mark.django_db


def aged(tenant, days: float) -> Tenant:
    """Move the tenant's deletion ``days`` into the past."""
    Tenant.objects.filter(pk=tenant.pk).update(deleted_at=timezone.now() - timedelta(days=days))
    tenant.refresh_from_db()
    return tenant


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- The service -----------------------------------------------------------------------------


def test_a_deleted_tenants_host_answers_404_like_an_unknown_host_on_pages_and_api():
    tenant = make_tenant("fading")
    assert host_client(tenant.primary_host).get("/accounts/sign-in/").status_code == 200  # cached now
    services.delete_tenant(tenant)
    unknown = host_client(f"nosuch.{settings.BASE_DOMAIN}").get("/accounts/sign-in/")
    page = host_client(tenant.primary_host).get("/accounts/sign-in/")
    assert page.status_code == 404
    assert page.content == unknown.content.replace(b"nosuch.", b"fading.")
    api = api_client_for(tenant.primary_host).get("/api/v1/me/")
    assert api.status_code == 404 and api.json() == {"detail": "There is no workspace at this address."}


def test_a_deleted_tenant_keeps_its_schema_and_rows_until_its_grace_period_ends():
    tenant = services.delete_tenant(make_tenant("fading"))
    assert tenant.status == Tenant.Status.DELETED and schema_exists(tenant.schema_name)
    assert services.purge_after(tenant) == tenant.deleted_at + timedelta(
        days=settings.TENANT_DELETE_GRACE_DAYS
    )


def test_deleting_a_deleted_tenant_does_not_extend_its_grace_period():
    tenant = aged(services.delete_tenant(make_tenant("fading")), days=3)
    first = tenant.deleted_at
    assert services.delete_tenant(tenant).deleted_at == first


def test_a_deleted_tenants_periodic_work_and_emails_wait(tenant):
    gone = services.delete_tenant(make_tenant("fading"))
    assert gone.schema_name not in fanout.active_tenant_schemas()
    assert tenant.schema_name in fanout.active_tenant_schemas()
    with tenant_context(gone):
        assert "deleted" in sending_refused()


def test_a_restored_tenant_has_its_data_back():
    tenant = make_tenant("phoenix")
    before = fill(tenant)
    services.delete_tenant(tenant)
    restored = services.restore_tenant(tenant)
    assert restored.status == Tenant.Status.ACTIVE and restored.deleted_at is None
    assert read_back(restored, before) == before
    signed_in = signed_in_client(restored, owner_of(restored))
    assert signed_in.get("/projects/").status_code == 200


def test_a_tenant_suspended_before_its_deletion_comes_back_suspended():
    tenant = services.suspend_tenant(make_tenant("phoenix"), "")
    services.delete_tenant(tenant)
    restored = services.restore_tenant(tenant)
    assert restored.status == Tenant.Status.SUSPENDED
    assert restored.suspended_reason == SUSPENDED_BEFORE_DELETION
    assert host_client(tenant.primary_host).get("/").status_code == 403


def test_restore_refuses_a_tenant_that_is_not_deleted(tenant):
    with pytest.raises(services.LifecycleRefused, match="not deleted"):
        services.restore_tenant(tenant)


def test_restore_refuses_a_tenant_past_its_grace_period():
    tenant = aged(services.delete_tenant(make_tenant("fading")), days=settings.TENANT_DELETE_GRACE_DAYS + 1)
    with pytest.raises(services.LifecycleRefused, match="more than 30 days ago"):
        services.restore_tenant(tenant)
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.DELETED


def test_purge_refuses_a_tenant_that_is_not_deleted(tenant):
    with pytest.raises(services.LifecycleRefused, match="only a deleted tenant is purged"):
        services.purge_tenant(tenant)
    assert schema_exists(tenant.schema_name)


def test_purge_deleted_tenants_drops_only_those_past_their_grace_period():
    due = aged(services.delete_tenant(make_tenant("overdue")), days=settings.TENANT_DELETE_GRACE_DAYS + 1)
    recent = aged(services.delete_tenant(make_tenant("recent")), days=settings.TENANT_DELETE_GRACE_DAYS - 1)
    assert services.purge_deleted_tenants() == ["overdue"]
    assert not schema_exists(due.schema_name) and not Tenant.objects.filter(pk=due.pk).exists()
    assert schema_exists(recent.schema_name) and Tenant.objects.filter(pk=recent.pk).exists()
    assert services.purge_deleted_tenants() == []  # idempotent


def test_one_tenant_that_cannot_be_purged_does_not_stop_the_others():
    first = aged(services.delete_tenant(make_tenant("overdue")), days=40)
    # A row that names the public schema: purging it is refused, and the job goes on.
    broken = make_tenant("broken")
    Tenant.objects.filter(pk=broken.pk).update(
        status=Tenant.Status.DELETED, deleted_at=timezone.now() - timedelta(days=50), schema_name="public"
    )
    assert services.purge_deleted_tenants() == ["overdue"]
    assert not schema_exists(first.schema_name) and Tenant.objects.filter(pk=broken.pk).exists()


# --- The beat job on a real worker -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_beat_job_purges_a_deleted_tenant_after_its_grace_period_and_not_before(celery_worker):
    tenant = services.delete_tenant(make_tenant("doomed"))
    purge_deleted.apply_async(queue=celery_worker.queue)
    celery_worker.ping()  # the solo worker ran the purge before the ping
    assert "unregistered task" not in celery_worker.log()
    assert schema_exists(tenant.schema_name) and Tenant.objects.filter(pk=tenant.pk).exists()

    aged(tenant, days=settings.TENANT_DELETE_GRACE_DAYS + 1)
    purge_deleted.apply_async(queue=celery_worker.queue)
    celery_worker.ping()
    assert not schema_exists(tenant.schema_name) and not Tenant.objects.filter(pk=tenant.pk).exists()


def test_beat_schedules_the_purge():
    entry = settings.CELERY_BEAT_SCHEDULE["tenants-purge-deleted"]
    assert entry["task"] == purge_deleted.name == "tenants.purge_deleted"


# --- The global admin ------------------------------------------------------------------------


@pytest.fixture
def admin_client(operator):
    client = host_client(settings.BASE_DOMAIN)
    client.force_login(operator)
    return client


CHANGELIST = "/admin/tenants/tenant/"


def test_the_admins_delete_page_soft_deletes_and_never_drops_the_schema(admin_client):
    tenant = make_tenant("fading")
    confirm = admin_client.get(f"{CHANGELIST}{tenant.pk}/delete/")
    assert confirm.status_code == 200 and b"restorable for 30 days" in confirm.content
    response = admin_client.post(f"{CHANGELIST}{tenant.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.DELETED and schema_exists(tenant.schema_name)


def test_the_admins_delete_action_soft_deletes(admin_client):
    tenant = make_tenant("fading")
    admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [tenant.pk], "post": "yes"}
    )
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.DELETED and schema_exists(tenant.schema_name)


def test_the_admin_marks_deleted_tenants_and_filters_them(admin_client, tenant):
    gone = services.delete_tenant(make_tenant("fading"))
    deleted_only = admin_client.get(CHANGELIST, {"deleted": "yes"}).content.decode()
    assert (
        "<s>Deleted</s>" in deleted_only
        and f"purged after {services.purge_after(gone):%Y-%m-%d}" in deleted_only
    )
    assert ">acme<" not in deleted_only and ">fading<" in deleted_only
    assert ">fading<" not in admin_client.get(CHANGELIST, {"deleted": "no"}).content.decode()


def test_the_admin_restores_a_deleted_tenant_with_its_data(admin_client):
    tenant = make_tenant("phoenix")
    before = fill(tenant)
    services.delete_tenant(tenant)
    admin_client.post(CHANGELIST, {"action": "restore_selected", "_selected_action": [tenant.pk]})
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE and read_back(tenant, before) == before


def test_the_admin_names_a_tenant_it_cannot_restore(admin_client, tenant):
    response = admin_client.post(
        CHANGELIST, {"action": "restore_selected", "_selected_action": [tenant.pk]}, follow=True
    )
    assert "Tenant acme is not deleted." in response.content.decode()


def test_the_admin_purges_a_deleted_tenant_only_after_a_confirmation_page(admin_client):
    tenant = services.delete_tenant(make_tenant("doomed"))
    form = {"action": "purge_selected", "_selected_action": [tenant.pk]}
    confirm = admin_client.post(CHANGELIST, form)
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    assert tenant.schema_name.encode() in confirm.content and schema_exists(tenant.schema_name)
    admin_client.post(CHANGELIST, {**form, "confirm": "yes"})
    assert not schema_exists(tenant.schema_name) and not Tenant.objects.filter(pk=tenant.pk).exists()


def test_the_admin_purges_no_tenant_that_is_not_deleted(admin_client, tenant):
    response = admin_client.post(
        CHANGELIST,
        {"action": "purge_selected", "_selected_action": [tenant.pk], "confirm": "yes"},
        follow=True,
    )
    assert "Only deleted tenants are purged" in response.content.decode()
    assert schema_exists(tenant.schema_name) and Tenant.objects.filter(pk=tenant.pk).exists()


# --- The operator API ------------------------------------------------------------------------


@pytest.fixture
def operator_api(operator):
    return api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))


def test_the_operator_api_deletes_softly_and_restores_with_the_data(operator_api):
    tenant = make_tenant("phoenix")
    before = fill(tenant)
    assert operator_api.delete(f"/api/v1/tenants/{tenant.public_id}/").status_code == 204
    shown = operator_api.get(f"/api/v1/tenants/{tenant.public_id}/").json()
    assert shown["status"] == "deleted" and shown["deleted_at"] and shown["purge_after"]
    response = operator_api.post(f"/api/v1/tenants/{tenant.public_id}/restore/")
    assert response.status_code == 200
    assert response.json()["status"] == "active" and response.json()["purge_after"] is None
    tenant.refresh_from_db()
    assert read_back(tenant, before) == before


def test_the_operator_api_refuses_a_restore_with_a_reason(operator_api, tenant):
    response = operator_api.post(f"/api/v1/tenants/{tenant.public_id}/restore/")
    assert response.status_code == 409 and response.json() == {"detail": "Tenant acme is not deleted."}
    late = aged(services.delete_tenant(make_tenant("fading")), days=31)
    response = operator_api.post(f"/api/v1/tenants/{late.public_id}/restore/")
    assert response.status_code == 409 and "more than 30 days ago" in response.json()["detail"]


def test_the_operator_api_purges_only_a_deleted_tenant(operator_api, tenant):
    assert operator_api.post(f"/api/v1/tenants/{tenant.public_id}/purge/").status_code == 409
    assert schema_exists(tenant.schema_name)
    gone = services.delete_tenant(make_tenant("doomed"))
    assert operator_api.post(f"/api/v1/tenants/{gone.public_id}/purge/").status_code == 204
    assert not schema_exists(gone.schema_name)


def test_a_tenant_owners_token_cannot_delete_restore_or_purge_a_tenant(tenant, owner):
    client = api_client_for(settings.BASE_DOMAIN, issue_token(tenant, owner))
    connection.set_schema_to_public()
    target = services.delete_tenant(make_tenant("fading"))
    for method, suffix in (("delete", ""), ("post", "restore/"), ("post", "purge/")):
        assert getattr(client, method)(f"/api/v1/tenants/{target.public_id}/{suffix}").status_code == 401
    target.refresh_from_db()
    assert target.status == Tenant.Status.DELETED and schema_exists(target.schema_name)


# --- The CLI -------------------------------------------------------------------------------------


def test_the_delete_command_soft_deletes_and_restore_brings_the_tenant_back():
    tenant = make_tenant("phoenix")
    assert "restorable until" in run("delete_tenant", "phoenix")
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.DELETED and schema_exists(tenant.schema_name)
    assert "Restored phoenix (active)" in run("restore_tenant", "phoenix")


def test_the_delete_command_purges_at_once_only_with_yes():
    tenant = make_tenant("doomed")
    with pytest.raises(CommandError, match="--yes"):
        run("delete_tenant", "doomed", "--purge")
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE
    run("delete_tenant", "doomed", "--purge", "--yes")
    assert not schema_exists(tenant.schema_name) and not Tenant.objects.filter(slug="doomed").exists()


def test_the_restore_command_says_why_it_cannot(tenant):
    with pytest.raises(CommandError, match=r"Tenant acme is not deleted\."):
        run("restore_tenant", "acme")


def test_the_purge_command_purges_what_is_past_its_grace_period():
    due = aged(services.delete_tenant(make_tenant("overdue")), days=31)
    assert "Purged 1 tenant(s): overdue" in run("purge_deleted_tenants")
    assert not schema_exists(due.schema_name)
