"""The tenant's app in the browser, for every persona."""

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.projects.models import Project, Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["owner", "admin", "member"])
def test_every_role_sees_the_projects_and_their_tasks(request, web, project, task, persona):
    client = web(request.getfixturevalue(persona))
    listing = client.get("/projects/")
    assert listing.status_code == 200 and b"Launch" in listing.content
    page = client.get(f"/projects/{project.public_id}/")
    assert page.status_code == 200 and b"Write the press release" in page.content
    assert client.get(f"/tasks/{task.public_id}/").status_code == 200


@pytest.mark.parametrize("path", ["/projects/", "/my-tasks/", "/settings/notifications/", "/projects/new/"])
def test_an_anonymous_visitor_is_sent_to_sign_in(web, path):
    response = web(None).get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")


def test_a_signed_in_user_without_a_role_is_refused(web, nobody, project):
    assert web(nobody).get("/projects/").status_code == 403
    assert web(nobody).get(f"/projects/{project.public_id}/").status_code == 403


def test_an_acme_project_and_task_are_404_on_globex(web, stranger, other_tenant, project, task):
    client = web(stranger, other_tenant)
    assert client.get("/projects/").status_code == 200
    assert b"Launch" not in client.get("/projects/").content
    assert client.get(f"/projects/{project.public_id}/").status_code == 404
    assert client.get(f"/tasks/{task.public_id}/").status_code == 404
    assert client.post(f"/tasks/{task.public_id}/", {"body": "hi"}).status_code == 404
    assert client.get(f"/tasks/{task.public_id}/edit/").status_code == 404


def test_an_acme_session_is_rejected_on_globex(web, member, other_tenant, project):
    from django.conf import settings
    from django.test import Client

    acme = web(member)
    globex = Client(HTTP_HOST=other_tenant.primary_host)
    globex.cookies[settings.SESSION_COOKIE_NAME] = acme.cookies[settings.SESSION_COOKIE_NAME].value
    assert globex.get("/projects/").status_code == 302


def test_a_member_creates_a_project_and_a_task(web, member, tenant):
    client = web(member)
    response = client.post("/projects/new/", {"name": "Website", "description": ""})
    assert response.status_code == 302
    with tenant_context(tenant):
        project = Project.objects.get(name="Website")
    response = client.post(
        f"/projects/{project.public_id}/tasks/new/",
        {"title": "Draft copy", "status": "todo", "priority": "2", "due_date": "2030-01-31"},
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        task = Task.objects.get(title="Draft copy")
        assert task.created_by == member and task.project == project


def test_forms_show_validation_messages(web, member, project):
    response = web(member).post(
        f"/projects/{project.public_id}/tasks/new/",
        {"title": "", "status": "nonsense", "priority": "9", "due_date": "not a date"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"title", "status", "priority", "due_date"}
    assert b"This field is required." in response.content


def test_a_member_edits_a_task_and_comments(web, member, task, tenant):
    client = web(member)
    response = client.post(
        f"/tasks/{task.public_id}/edit/",
        {"title": "Press release v2", "status": "doing", "priority": "3", "assignee": ""},
    )
    assert response.status_code == 302
    response = client.post(f"/tasks/{task.public_id}/", {"body": "First draft is up."})
    assert response.status_code == 302
    page = client.get(f"/tasks/{task.public_id}/")
    assert b"Press release v2" in page.content and b"First draft is up." in page.content


def test_only_owners_and_admins_archive_or_delete_projects(web, owner, admin, member, project, tenant):
    assert web(member).post(f"/projects/{project.public_id}/archive/", {"archived": "1"}).status_code == 403
    assert web(member).post(f"/projects/{project.public_id}/delete/").status_code == 403
    assert web(admin).post(f"/projects/{project.public_id}/archive/", {"archived": "1"}).status_code == 302
    with tenant_context(tenant):
        assert Project.objects.get(pk=project.pk).archived
    assert web(owner).post(f"/projects/{project.public_id}/delete/").status_code == 302
    with tenant_context(tenant):
        assert not Project.objects.filter(pk=project.pk).exists()


def test_task_filters_narrow_the_list(web, owner, member, project, tenant):
    with tenant_context(tenant):
        Task.objects.create(project=project, title="Mine and doing", status="doing", assignee=member)
        Task.objects.create(project=project, title="Unassigned todo", status="todo")
    client = web(member)
    page = client.get(f"/projects/{project.public_id}/", {"status": "doing", "assignee": "me"})
    assert b"Mine and doing" in page.content and b"Unassigned todo" not in page.content
    page = client.get(f"/projects/{project.public_id}/", {"assignee": "none"})
    assert b"Unassigned todo" in page.content and b"Mine and doing" not in page.content


def test_my_tasks_lists_only_open_tasks_assigned_to_me(web, member, owner, project, tenant):
    with tenant_context(tenant):
        Task.objects.create(project=project, title="Mine open", assignee=member)
        Task.objects.create(project=project, title="Mine done", assignee=member, status="done")
        Task.objects.create(project=project, title="Owner's", assignee=owner)
    page = web(member).get("/my-tasks/").content
    assert b"Mine open" in page and b"Mine done" not in page and b"Owner&#x27;s" not in page


@pytest.mark.parametrize("path", ["/projects/", "/project/", "/my-tasks/"])
def test_list_pages_cost_the_same_queries_for_more_rows(
    web, member, project, tenant, django_assert_max_num_queries, path
):
    path = f"/projects/{project.public_id}/" if path == "/project/" else path
    client = web(member)
    client.get(path)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(path)
    with tenant_context(tenant):
        for n in range(15):
            other = Project.objects.create(name=f"P{n}")
            Task.objects.create(project=project, title=f"T{n}", assignee=member)
            Task.objects.create(project=other, title=f"U{n}", assignee=member)
    with django_assert_max_num_queries(len(few)):
        client.get(path)


def test_a_user_turns_off_assignment_emails(web, member, tenant):
    from tenant_apps.projects.models import NotificationPreferences

    response = web(member).post("/settings/notifications/", {"comments": "on", "digest": "on"})
    assert response.status_code == 302
    with tenant_context(tenant):
        prefs = NotificationPreferences.objects.get(user=member)
        assert (prefs.assignment, prefs.comments, prefs.digest) == (False, True, True)
