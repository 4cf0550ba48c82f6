"""Plans and limits (tenants/limits.py): each limit is enforced by the service that creates, and
every door (page, API, tenant admin) says why and creates nothing; a tenant's limits are its own;
only operators change plans (global admin, operator API, command), with field errors for bad values.

acme and globex are on the "unlimited" plan (tests/conftest.py); each test here puts acme on the
"free" plan with the limits it needs, inside its rolled-back transaction.
"""

import threading
from html import escape
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from tenant_apps.accounts import invitations
from tenant_apps.accounts import services as accounts
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import Role
from tenant_apps.projects import services as projects
from tenant_apps.projects.models import Comment, Project, Task
from tenants import limits
from tenants.models import Tenant
from tenants.services import provision_tenant
from tests.clients import api_client_for, issue_token
from tests.factories import PASSWORD, InvitationFactory, ProjectFactory, TaskFactory
from tests.worker import wait_until

pytestmark = pytest.mark.django_db

NO_LIMITS = {"max_users": None, "max_projects": None, "max_storage_mb": None}


def on_free_plan(tenant, **overrides) -> Tenant:
    """acme on the free plan with no limits but ``overrides``, as an operator would set them."""
    return limits.change_plan(tenant, "free", **{**NO_LIMITS, **overrides})


def seats(tenant) -> int:
    return limits.usage(tenant)["users"]


def count(tenant, model, **filters) -> int:
    with tenant_context(tenant):
        return model.objects.filter(**filters).count()


def reason_for(what: str, limit: int) -> str:
    noun = {"users": "users", "projects": "projects", "storage": "MB of data"}[what]
    return f"Acme's plan (free) allows {limit} {noun}"


def on_page(what: str, limit: int) -> str:
    """The reason as a page shows it (HTML-escaped)."""
    return escape(reason_for(what, limit))


# --- Plans -------------------------------------------------------------------------------------


def test_a_new_tenant_starts_on_the_default_plan_with_its_limits():
    tenant = provision_tenant("initech", "Initech", "boss@initech.test").tenant

    tenant.refresh_from_db()
    assert tenant.plan == settings.TENANT_DEFAULT_PLAN == "free"
    assert (tenant.max_users, tenant.max_projects, tenant.max_storage_mb) == (5, 10, 100)


def test_provisioning_never_refuses_the_owner_even_on_a_plan_without_seats(settings):
    settings.TENANT_PLANS = {**settings.TENANT_PLANS, "closed": {"max_users": 0}}

    provisioned = provision_tenant("initech", "Initech", "boss@initech.test", plan="closed")

    assert provisioned.owner.email == "boss@initech.test"
    assert provisioned.tenant.max_users == 0


def test_provisioning_refuses_an_unknown_plan_as_a_field_error():
    with pytest.raises(ValidationError) as refused:
        provision_tenant("initech", "Initech", "boss@initech.test", plan="gold")

    assert "plan" in refused.value.message_dict
    assert not Tenant.objects.filter(slug="initech").exists()


def test_a_plan_sets_its_defaults_and_overrides_stay_per_tenant(tenant, other_tenant):
    limits.change_plan(tenant, "team", max_users=40)

    tenant.refresh_from_db()
    assert (tenant.plan, tenant.max_users, tenant.max_projects, tenant.max_storage_mb) == (
        "team",
        40,
        100,
        2048,
    )
    other_tenant.refresh_from_db()
    assert other_tenant.plan == "unlimited" and other_tenant.max_users is None


def test_changing_one_limit_without_a_plan_keeps_the_others(tenant):
    limits.change_plan(tenant, "team", max_users=40)

    limits.change_plan(tenant, max_projects=None)

    tenant.refresh_from_db()
    assert (tenant.plan, tenant.max_users, tenant.max_projects) == ("team", 40, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"plan": "gold"}, "plan"),
        ({"max_users": -1}, "max_users"),
        ({"max_projects": "3"}, "max_projects"),
        ({"max_storage_mb": 2**31}, "max_storage_mb"),
        ({"max_tasks": 3}, "max_tasks"),
    ],
)
def test_bad_plans_and_limits_are_field_errors_and_change_nothing(tenant, change, field):
    with pytest.raises(ValidationError) as refused:
        limits.change_plan(tenant, **change)

    assert field in refused.value.message_dict
    tenant.refresh_from_db()
    assert tenant.plan == "unlimited" and tenant.max_users is None


def test_usage_counts_seats_projects_and_the_schemas_size(tenant, owner, member):
    ProjectFactory(tenant=tenant)
    InvitationFactory(tenant=tenant)
    with tenant_context(tenant):
        active_users = get_user_model().objects.filter(is_active=True).count()

    used = limits.usage(tenant)

    assert used["users"] == active_users + 1
    assert used["projects"] == count(tenant, Project)
    assert used["storage_mb"] > 0


# --- Users -------------------------------------------------------------------------------------


def test_inviting_past_the_users_limit_is_a_403_with_the_reason_and_invites_no_one(tenant, api_client, owner):
    on_free_plan(tenant, max_users=seats(tenant))

    response = api_client(owner).post("/api/v1/invitations/", {"email": "late@acme.test"}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": f"{reason_for('users', seats(tenant))}; deactivate a user or revoke an invitation, "
        "or upgrade the plan."
    }
    assert count(tenant, Invitation, email="late@acme.test") == 0


def test_pending_invitations_take_a_seat_and_revoking_one_frees_it(tenant, api_client, owner):
    on_free_plan(tenant, max_users=seats(tenant) + 1)
    client = api_client(owner)
    first = client.post("/api/v1/invitations/", {"email": "first@acme.test"}, format="json")
    assert first.status_code == 201

    assert (
        client.post("/api/v1/invitations/", {"email": "second@acme.test"}, format="json").status_code == 403
    )
    # Resending the pending one takes no new seat.
    assert client.post(f"/api/v1/invitations/{first.json()['id']}/resend/").status_code == 200

    assert client.delete(f"/api/v1/invitations/{first.json()['id']}/").status_code == 200
    assert (
        client.post("/api/v1/invitations/", {"email": "second@acme.test"}, format="json").status_code == 201
    )


def test_deactivated_users_free_their_seat(tenant, api_client, owner, member):
    on_free_plan(tenant, max_users=seats(tenant))
    client = api_client(owner)
    assert client.post("/api/v1/invitations/", {"email": "new@acme.test"}, format="json").status_code == 403

    assert client.delete(f"/api/v1/users/{member.public_id}/").status_code == 204

    assert client.post("/api/v1/invitations/", {"email": "new@acme.test"}, format="json").status_code == 201


def test_the_tenant_admin_shows_the_users_limit_on_the_invitation_form(tenant, web, admin):
    on_free_plan(tenant, max_users=seats(tenant))

    response = web(admin).post(
        "/admin/accounts/invitation/add/", {"email": "late@acme.test", "role": "member"}
    )

    assert response.status_code == 200
    assert on_page("users", seats(tenant)) in response.content.decode()
    assert count(tenant, Invitation, email="late@acme.test") == 0


def test_accepting_after_the_limit_was_lowered_shows_the_reason_and_creates_no_account(
    tenant, owner, tenant_client
):
    with tenant_context(tenant):
        invitations.invite(owner, "late@acme.test", Role.MEMBER)
        invitation = Invitation.objects.get(email="late@acme.test")
        invitation.token_hash = invitations.hash_token("limit-test-token")
        invitation.save(update_fields=["token_hash"])
    on_free_plan(tenant, max_users=seats(tenant) - 1)  # an operator lowered it meanwhile

    response = tenant_client.post(
        "/accounts/invitations/limit-test-token/",
        {"full_name": "Late", "password1": "a-long-new-password", "password2": "a-long-new-password"},
    )

    assert response.status_code == 200
    assert on_page("users", seats(tenant) - 1) in response.content.decode()
    assert count(tenant, get_user_model(), email="late@acme.test") == 0
    assert count(tenant, Invitation, email="late@acme.test", accepted_at__isnull=True) == 1


def test_accepting_within_the_limit_uses_the_invitations_seat(tenant, owner, tenant_client):
    on_free_plan(tenant, max_users=seats(tenant) + 1)
    with tenant_context(tenant):
        invitations.invite(owner, "in@acme.test", Role.MEMBER)
        invitation = Invitation.objects.get(email="in@acme.test")
        invitation.token_hash = invitations.hash_token("limit-test-token")
        invitation.save(update_fields=["token_hash"])

    response = tenant_client.post(
        "/accounts/invitations/limit-test-token/",
        {"full_name": "In", "password1": "a-long-new-password", "password2": "a-long-new-password"},
    )

    assert response.status_code == 302
    assert count(tenant, get_user_model(), email="in@acme.test") == 1


def test_creating_a_user_directly_takes_a_seat_too(tenant):
    on_free_plan(tenant, max_users=seats(tenant))

    with tenant_context(tenant), pytest.raises(limits.PlanLimitReached):
        accounts.create_user_with_role("direct@acme.test", Role.MEMBER, password=PASSWORD)

    assert count(tenant, get_user_model(), email="direct@acme.test") == 0


# --- Projects ----------------------------------------------------------------------------------


def test_the_projects_limit_on_the_page_shows_the_reason_and_creates_nothing(tenant, web, member):
    ProjectFactory(tenant=tenant)
    on_free_plan(tenant, max_projects=count(tenant, Project))

    response = web(member).post("/projects/new/", {"name": "One too many", "description": ""})

    assert response.status_code == 200
    page = response.content.decode()
    assert on_page("projects", count(tenant, Project)) in page and "upgrade the plan" in page
    assert 'value="One too many"' in page  # what was typed is kept
    assert count(tenant, Project, name="One too many") == 0


def test_the_projects_limit_in_the_api_is_a_403_with_the_reason(tenant, api_client, member):
    ProjectFactory(tenant=tenant)
    on_free_plan(tenant, max_projects=count(tenant, Project))

    response = api_client(member).post("/api/v1/projects/", {"name": "One too many"}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": f"{reason_for('projects', count(tenant, Project))}; delete a project or upgrade the plan."
    }
    assert count(tenant, Project, name="One too many") == 0


def test_the_projects_limit_in_the_tenant_admin_is_a_form_error(tenant, web, admin):
    ProjectFactory(tenant=tenant)
    on_free_plan(tenant, max_projects=count(tenant, Project))

    response = web(admin).post(
        "/admin/projects/project/add/",
        {
            "name": "One too many",
            "description": "",
            "tasks-TOTAL_FORMS": "0",
            "tasks-INITIAL_FORMS": "0",
            "tasks-MIN_NUM_FORMS": "0",
            "tasks-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200
    assert on_page("projects", count(tenant, Project)) in response.content.decode()
    assert count(tenant, Project, name="One too many") == 0


def test_archived_projects_count_toward_the_limit(tenant, api_client, owner):
    project = ProjectFactory(tenant=tenant)
    with tenant_context(tenant):
        projects.set_archived(owner, project, True)
    on_free_plan(tenant, max_projects=count(tenant, Project))

    response = api_client(owner).post("/api/v1/projects/", {"name": "Another"}, format="json")

    assert response.status_code == 403


def test_acmes_limits_do_not_touch_globex(tenant, other_tenant, api_client, stranger):
    on_free_plan(tenant, max_projects=0, max_users=0, max_storage_mb=0)

    client = api_client(stranger, other_tenant)
    assert client.post("/api/v1/projects/", {"name": "Globex's"}, format="json").status_code == 201
    assert client.post("/api/v1/invitations/", {"email": "n@globex.test"}, format="json").status_code == 201


# --- Storage -----------------------------------------------------------------------------------


def test_a_full_workspace_takes_no_task_through_the_api(tenant, api_client, member):
    project = ProjectFactory(tenant=tenant)
    on_free_plan(tenant, max_storage_mb=0)

    response = api_client(member).post(
        "/api/v1/tasks/", {"project": str(project.public_id), "title": "Heavy"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["detail"].startswith(reason_for("storage", 0))
    assert count(tenant, Task, title="Heavy") == 0


def test_a_full_workspace_shows_the_reason_on_the_comment_form(tenant, web, member):
    task = TaskFactory(tenant=tenant)
    on_free_plan(tenant, max_storage_mb=0)

    response = web(member).post(f"/tasks/{task.public_id}/", {"body": "One more word"})

    assert response.status_code == 200
    assert on_page("storage", 0) in response.content.decode()
    assert count(tenant, Comment, body="One more word") == 0


def test_a_full_workspace_shows_the_reason_in_the_tenant_admin(tenant, web, admin):
    task = TaskFactory(tenant=tenant)
    on_free_plan(tenant, max_storage_mb=0)

    response = web(admin).post("/admin/projects/comment/add/", {"task": task.pk, "body": "From the admin"})

    assert response.status_code == 200
    assert on_page("storage", 0) in response.content.decode()
    assert count(tenant, Comment, body="From the admin") == 0


def test_within_the_storage_limit_writes_go_through(tenant, api_client, member):
    project = ProjectFactory(tenant=tenant)
    on_free_plan(tenant, max_storage_mb=round(limits.usage(tenant)["storage_mb"]) + 10)

    response = api_client(member).post(
        "/api/v1/tasks/", {"project": str(project.public_id), "title": "Light"}, format="json"
    )

    assert response.status_code == 201


# --- Who changes plans -------------------------------------------------------------------------


@pytest.fixture
def operator_api(operator):
    return api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))


@pytest.fixture
def operator_web(operator, root_client):
    root_client.force_login(operator)
    return root_client


def test_operators_change_a_plan_through_the_api(operator_api, tenant):
    response = operator_api.patch(
        f"/api/v1/tenants/{tenant.public_id}/", {"plan": "team", "max_users": 40}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["plan"], body["max_users"], body["max_projects"], body["max_storage_mb"]) == (
        "team",
        40,
        100,
        2048,
    )
    assert set(body["usage"]) == {"users", "projects", "storage_mb"}
    tenant.refresh_from_db()
    assert (tenant.plan, tenant.max_users) == ("team", 40)


def test_the_operator_api_lists_plans_limits_and_usage(operator_api, tenant, other_tenant):
    on_free_plan(tenant, max_users=7)

    rows = {row["slug"]: row for row in operator_api.get("/api/v1/tenants/").json()["results"]}

    assert (rows["acme"]["plan"], rows["acme"]["max_users"]) == ("free", 7)
    assert rows["acme"]["usage"]["users"] == seats(tenant)
    assert rows["globex"]["plan"] == "unlimited" and rows["globex"]["max_users"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan": "gold"}, "plan"),
        ({"max_users": -1}, "max_users"),
        ({"max_projects": "many"}, "max_projects"),
        ({"max_storage_mb": 2**40}, "max_storage_mb"),
    ],
)
def test_bad_plan_changes_through_the_api_are_400_field_errors(operator_api, tenant, body, field):
    response = operator_api.patch(f"/api/v1/tenants/{tenant.public_id}/", body, format="json")

    assert response.status_code == 400 and field in response.json()
    tenant.refresh_from_db()
    assert tenant.plan == "unlimited"


def test_the_operator_api_provisions_on_a_named_plan_and_refuses_an_unknown_one(operator_api):
    refused = operator_api.post(
        "/api/v1/tenants/",
        {"slug": "initech", "name": "I", "owner_email": "b@i.test", "plan": "gold"},
        format="json",
    )
    assert refused.status_code == 400 and "plan" in refused.json()

    created = operator_api.post(
        "/api/v1/tenants/",
        {"slug": "initech", "name": "I", "owner_email": "b@i.test", "plan": "team"},
        format="json",
    )
    assert created.status_code == 201 and (created.json()["plan"], created.json()["max_users"]) == (
        "team",
        25,
    )


def test_operators_change_a_plan_in_the_global_admin(operator_web, tenant):
    page = operator_web.get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in ("name", "plan", "email_from_name", "email_reply_to")}
    data.update(
        {
            "branding": "{}",
            "plan": "business",
            "max_users": "",
            "max_projects": "",
            "max_storage_mb": "",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        }
    )
    data = {name: value for name, value in data.items() if value is not None}

    response = operator_web.post(f"/admin/tenants/tenant/{tenant.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    tenant.refresh_from_db()
    # The plan changed and its limits were not touched on the form: the plan's defaults.
    assert (tenant.plan, tenant.max_users, tenant.max_projects, tenant.max_storage_mb) == (
        "business",
        250,
        None,
        20480,
    )


def test_the_global_admin_refuses_a_negative_limit_as_a_field_error(operator_web, tenant):
    page = operator_web.get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    form = page.context["adminform"].form

    response = operator_web.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {
            "name": form.initial["name"],
            "plan": "free",
            "branding": "{}",
            "max_users": "-3",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200
    assert "max_users" in response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert tenant.plan == "unlimited"


def test_the_global_admin_lists_usage_beside_the_limits(operator_web, tenant, other_tenant):
    on_free_plan(tenant, max_users=9)

    page = operator_web.get("/admin/tenants/tenant/").content.decode()

    assert f"{seats(tenant)} / 9 users" in page
    assert f"{seats(other_tenant)} / ∞ users" in page


def test_the_command_changes_a_plan_and_refuses_bad_input(tenant):
    out = StringIO()
    call_command(
        "set_tenant_plan", "acme", "team", "--max-users", "40", "--max-storage-mb", "none", stdout=out
    )

    assert "acme is on the team plan: 40 users, 100 projects, no limit MB" in out.getvalue()
    tenant.refresh_from_db()
    assert (tenant.plan, tenant.max_users, tenant.max_storage_mb) == ("team", 40, None)
    for args in (
        ["acme", "gold"],
        ["acme", "team", "--max-users", "-1"],
        ["acme", "team", "--max-users", "x"],
    ):
        with pytest.raises(CommandError):
            call_command("set_tenant_plan", *args, stdout=StringIO())
    with pytest.raises(CommandError, match="no tenant"):
        call_command("set_tenant_plan", "nosuch", "team", stdout=StringIO())
    tenant.refresh_from_db()
    assert (tenant.plan, tenant.max_users) == ("team", 40)


def test_a_tenants_own_people_cannot_change_its_plan(tenant, owner, api_client):
    on_free_plan(tenant, max_users=3)
    # Their token means nothing on the root domain, and their host has no such route.
    token = issue_token(tenant, owner)
    on_root = api_client_for(settings.BASE_DOMAIN, token).patch(
        f"/api/v1/tenants/{tenant.public_id}/", {"plan": "unlimited"}, format="json"
    )
    on_own_host = api_client(owner).patch(
        f"/api/v1/tenants/{tenant.public_id}/", {"plan": "unlimited"}, format="json"
    )

    assert on_root.status_code == 401 and on_own_host.status_code == 404
    tenant.refresh_from_db()
    assert (tenant.plan, tenant.max_users) == ("free", 3)


# --- Concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creations_cannot_both_take_the_last_place(tenant, owner):
    on_free_plan(tenant, max_projects=count(tenant, Project) + 1)
    first_created, release = threading.Event(), threading.Event()
    outcome = {}

    def create(name, before=None, after=None):
        try:
            with tenant_context(tenant), transaction.atomic():
                if before:
                    before.wait(30)
                projects.create_project(owner, name=name)
                if after:
                    after.set()
                    release.wait(30)  # hold the transaction open, the place taken but not committed
            outcome[name] = "created"
        except limits.PlanLimitReached:
            outcome[name] = "refused"
        finally:
            connection.close()

    first = threading.Thread(target=create, args=("First",), kwargs={"after": first_created})
    second = threading.Thread(target=create, args=("Second",), kwargs={"before": first_created})
    first.start()
    second.start()
    # The second creation waits on the tenant row's lock the first one holds...
    wait_until(lambda: waiting_on_a_lock() > 0)
    release.set()
    first.join(30)
    second.join(30)

    # ...and counts after the first committed.
    assert outcome == {"First": "created", "Second": "refused"}
    assert count(tenant, Project, name__in=["First", "Second"]) == 1


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
