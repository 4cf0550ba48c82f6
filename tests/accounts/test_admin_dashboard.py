"""A tenant admin's dashboard and look (tenant_apps/accounts/admin_dashboard.py, tenants/admin_theme.py):
its team, projects, activity and outbox in one statement per panel, for the workspace's managers
only, in the workspace's colour."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tests.factories import (
    CommentFactory,
    InvitationFactory,
    OutboxMessageFactory,
    ProjectFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def dashboard(client) -> dict[str, dict]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {panel["id"]: panel for panel in response.context["panels"]}


def figures(panel) -> dict[str, object]:
    return {row[0]["text"]: row[1] for row in panel["rows"]}


def test_the_team_panel_counts_members_by_role_and_pending_invitations(tenant, owner, web):
    UserFactory(tenant=tenant, role=Role.ADMIN)
    for _ in range(3):
        UserFactory(tenant=tenant, role=Role.MEMBER)
    UserFactory(tenant=tenant, role=Role.MEMBER, is_active=False)
    InvitationFactory(tenant=tenant)
    InvitationFactory(tenant=tenant, role=Role.ADMIN)
    InvitationFactory(tenant=tenant, expires_at=timezone.now() - timedelta(days=1))
    InvitationFactory(tenant=tenant, revoked_at=timezone.now())
    with tenant_context(tenant):
        owners = type(owner).objects.filter(groups__name=Role.OWNER, is_active=True).count()
    assert figures(dashboard(web(owner))["team"]) == {
        "Owners": owners,
        "Admins": 1,
        "Members": 3,
        "Deactivated": 1,
        "Pending invitations": 2,
    }


def test_the_projects_panel_counts_open_archived_and_overdue(tenant, owner, web):
    yesterday = timezone.localdate() - timedelta(days=1)
    launch = ProjectFactory(tenant=tenant)
    ProjectFactory(tenant=tenant)
    shelved = ProjectFactory(tenant=tenant, archived=True)
    TaskFactory(tenant=tenant, project=launch, due_date=yesterday)
    TaskFactory(tenant=tenant, project=launch, due_date=yesterday, status="doing")
    TaskFactory(tenant=tenant, project=launch, due_date=yesterday, status="done")  # done: not overdue
    TaskFactory(tenant=tenant, project=launch, due_date=timezone.localdate())  # due today: not yet
    TaskFactory(tenant=tenant, project=shelved, due_date=yesterday)  # archived project: not counted
    assert figures(dashboard(web(owner))["projects"]) == {
        "Open projects": 2,
        "Archived projects": 1,
        "Overdue tasks": 2,
    }


def test_recent_activity_shows_the_latest_tasks_and_comments_newest_first(tenant, other_tenant, owner, web):
    task = TaskFactory(tenant=tenant, title="Write the launch post", created_by=owner)
    CommentFactory(tenant=tenant, task=task, author=owner)
    TaskFactory(tenant=other_tenant, title="Globex secret plan")
    with tenant_context(tenant):
        type(task).objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    response = web(owner).get("/admin/")
    panel = {p["id"]: p for p in response.context["panels"]}["activity"]
    assert [(row[1], row[2]["text"], row[3]) for row in panel["rows"]] == [
        ("Comment on", "Write the launch post", owner.email),
        ("New task", "Write the launch post", owner.email),
    ]
    assert f'href="/admin/projects/task/{task.pk}/change/"' in response.content.decode()
    assert "Globex secret plan" not in response.content.decode()


def test_the_outbox_panel_counts_the_last_day_by_outcome(tenant, other_tenant, owner, web):
    before = figures(dashboard(web(owner))["outbox"])
    for status in ("queued", "sending", "sent", "delivered", "delivered", "failed", "bounced"):
        OutboxMessageFactory(tenant=tenant, status=status)
    old = OutboxMessageFactory(tenant=tenant, status="failed")
    with tenant_context(tenant):
        OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    OutboxMessageFactory(tenant=other_tenant, status="failed")
    after = figures(dashboard(web(owner))["outbox"])
    assert {key: after[key] - before[key] for key in after} == {"Waiting to send": 2, "Sent": 3, "Failed": 2}


def test_the_dashboard_costs_the_same_queries_for_3_and_30_members_and_projects(
    tenant, owner, web, django_assert_num_queries, django_assert_max_num_queries
):
    def add(count):
        for _ in range(count):
            user = UserFactory(tenant=tenant, role=Role.MEMBER)
            task = TaskFactory(
                tenant=tenant, created_by=user, due_date=timezone.localdate() - timedelta(days=1)
            )
            CommentFactory(tenant=tenant, task=task, author=user)
            InvitationFactory(tenant=tenant)
            OutboxMessageFactory(tenant=tenant, status="sent")

    add(3)
    client = web(owner)
    client.get("/admin/")
    with django_assert_max_num_queries(200) as few:
        dashboard(client)
    add(27)
    with django_assert_num_queries(len(few)):
        dashboard(client)


@pytest.mark.parametrize(
    ("persona", "sees"), [("owner", True), ("admin", True), ("member", False), ("nobody", False)]
)
def test_only_the_workspace_managers_see_its_dashboard(request, web, persona, sees):
    response = web(request.getfixturevalue(persona)).get("/admin/")
    if sees:
        assert response.status_code == 200 and "panels" in response.context
    else:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_another_tenant_and_the_operator_see_nothing(web, tenant, other_tenant, stranger, operator):
    # Globex's owner, signed in on globex: their session opens globex's dashboard, not acme's.
    client = web(stranger, where=other_tenant)
    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/", HTTP_HOST=tenant.primary_host)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    # The operator's account lives in the public schema: it does not sign in to a tenant admin.
    from tests.tenants.test_admin_sites import sign_in

    assert not sign_in(web(None), operator.email)


def test_the_tenant_admin_wears_the_tenant_name_and_colour(tenant, owner, web):
    tenant.branding = {"color": "#0a7d5a"}
    tenant.save(update_fields=["branding"])
    page = web(owner).get("/admin/").content.decode()
    assert "--color-primary-500: rgb(10, 125, 90)" in page
    assert "Acme admin" in page


def test_a_branding_colour_that_is_not_a_colour_is_not_written_into_the_stylesheet(tenant, owner, web):
    tenant.branding = {"color": "red;}</style><script>alert(1)</script>"}
    tenant.save(update_fields=["branding"])
    page = web(owner).get("/admin/").content.decode()
    assert "alert(1)" not in page and "--color-primary-500: rgb(43, 108, 176)" in page


def test_the_sidebar_groups_team_projects_outbox_exports_and_security(tenant, owner, admin, web):
    groups = web(owner).get("/admin/").context["sidebar_navigation"]
    titles = [group["title"] for group in groups]
    assert titles[:5] == ["Workspace", "Team", "Projects", "Outbox", "Exports"]
    team = [item["link"] for item in groups[1]["items"]]
    assert team == ["/admin/accounts/user/", "/admin/accounts/invitation/"]
    assert groups[4]["items"][0]["link"] == "/admin/export/"
    # Exports are the owners': an admin's sidebar has no such link.
    admin_titles = [group["title"] for group in web(admin).get("/admin/").context["sidebar_navigation"]]
    assert "Exports" not in admin_titles and "Team" in admin_titles


def test_every_link_of_the_dashboard_opens_for_its_owner(tenant, owner, web):
    task = TaskFactory(tenant=tenant, created_by=owner)
    CommentFactory(tenant=tenant, task=task, author=owner)
    client = web(owner)
    links = [
        cell["url"]
        for panel in dashboard(client).values()
        for row in panel["rows"]
        for cell in row
        if isinstance(cell, dict) and "url" in cell
    ]
    assert len(links) >= 12
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert "?e=1" not in response.get("Location", ""), link
