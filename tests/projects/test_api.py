"""/api/v1/projects/, /api/v1/tasks/ and /api/v1/tasks/{id}/comments/ for every persona."""

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.projects.models import Comment, Project, Task

pytestmark = pytest.mark.django_db


def results(response):
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


@pytest.mark.parametrize("persona", ["owner", "admin", "member"])
def test_every_role_lists_projects_and_tasks(request, api_client, project, task, persona):
    client = api_client(request.getfixturevalue(persona))
    projects = client.get("/api/v1/projects/")
    assert projects.status_code == 200
    assert [p["id"] for p in results(projects)] == [str(project.public_id)]
    tasks = client.get("/api/v1/tasks/")
    assert [t["id"] for t in results(tasks)] == [str(task.public_id)]


def test_an_anonymous_client_gets_401(api_client, project):
    assert api_client(None).get("/api/v1/projects/").status_code == 401
    assert api_client(None).post("/api/v1/tasks/", {}, format="json").status_code == 401


def test_a_user_without_a_role_gets_403(api_client, nobody):
    assert api_client(nobody).get("/api/v1/projects/").status_code == 403


def test_acme_ids_are_404_on_globex_and_a_acme_token_is_401(
    api_client, stranger, other_tenant, member, project, task, tenant
):
    globex = api_client(stranger, other_tenant)
    assert globex.get(f"/api/v1/projects/{project.public_id}/").status_code == 404
    assert globex.get(f"/api/v1/tasks/{task.public_id}/").status_code == 404
    assert globex.patch(f"/api/v1/tasks/{task.public_id}/", {"title": "x"}, format="json").status_code == 404
    assert globex.get(f"/api/v1/tasks/{task.public_id}/comments/").status_code == 404
    assert (
        globex.post(f"/api/v1/tasks/{task.public_id}/comments/", {"body": "x"}, format="json").status_code
        == 404
    )
    # acme's token presented on globex's host
    from tests.clients import api_client_for, issue_token

    token = issue_token(tenant, member)
    assert api_client_for(other_tenant.primary_host, token).get("/api/v1/projects/").status_code == 401
    with tenant_context(tenant):
        assert Task.objects.get(pk=task.pk).title == "Write the press release"


def test_a_member_creates_a_task_and_comments(api_client, member, owner, project, tenant):
    client = api_client(member)
    created = client.post(
        "/api/v1/tasks/",
        {
            "project": str(project.public_id),
            "title": "API task",
            "assignee": str(owner.public_id),
            "due_date": "2030-05-01",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    task_id = created.json()["id"]
    comment = client.post(f"/api/v1/tasks/{task_id}/comments/", {"body": "On it"}, format="json")
    assert comment.status_code == 201 and comment.json()["author"]["email"] == member.email
    assert [c["body"] for c in results(client.get(f"/api/v1/tasks/{task_id}/comments/"))] == ["On it"]


def test_filters_and_ordering(api_client, member, owner, project, tenant):
    with tenant_context(tenant):
        Task.objects.create(project=project, title="b", status="doing", assignee=member, priority=1)
        Task.objects.create(project=project, title="a", status="doing", assignee=owner, priority=4)
        Task.objects.create(project=project, title="c", status="done", priority=2)
    client = api_client(member)
    doing = results(client.get("/api/v1/tasks/", {"status": "doing", "ordering": "-priority"}))
    assert [t["title"] for t in doing] == ["a", "b"]
    mine = results(client.get("/api/v1/tasks/", {"assignee": "me"}))
    assert [t["title"] for t in mine] == ["b"]
    by_project = results(
        client.get("/api/v1/tasks/", {"project": str(project.public_id), "ordering": "title"})
    )
    assert [t["title"] for t in by_project] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "nope"}, "status"),
        ({"due": "someday"}, "due"),
        ({"assignee": "not-a-uuid"}, "assignee"),
        ({"project": "123"}, "project"),
    ],
)
def test_bad_filters_are_400_with_the_field(api_client, member, params, field):
    response = api_client(member).get("/api/v1/tasks/", params)
    assert response.status_code == 400
    assert field in str(response.json())


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"title": "x"},
        {"project": "not-a-uuid", "title": "x"},
        {"project": None, "title": 5},
        {"title": "x" * 500, "project": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_bad_task_input_is_400_with_field_errors(api_client, member, payload):
    response = api_client(member).post("/api/v1/tasks/", payload, format="json")
    assert response.status_code == 400
    assert response.json()


def test_assigning_to_someone_outside_the_workspace_is_400(api_client, member, nobody, project):
    response = api_client(member).post(
        "/api/v1/tasks/",
        {"project": str(project.public_id), "title": "x", "assignee": str(nobody.public_id)},
        format="json",
    )
    assert response.status_code == 400 and "assignee" in str(response.json())


def test_only_owners_and_admins_archive_or_delete_projects(api_client, member, admin, owner, project, tenant):
    assert (
        api_client(member)
        .post(f"/api/v1/projects/{project.public_id}/archive/", {"archived": True}, format="json")
        .status_code
        == 403
    )
    assert api_client(member).delete(f"/api/v1/projects/{project.public_id}/").status_code == 403
    archived = api_client(admin).post(
        f"/api/v1/projects/{project.public_id}/archive/", {"archived": True}, format="json"
    )
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert api_client(owner).delete(f"/api/v1/projects/{project.public_id}/").status_code == 204
    with tenant_context(tenant):
        assert not Project.objects.filter(pk=project.pk).exists()


def test_a_task_cannot_be_added_to_an_archived_project(api_client, admin, project):
    api_client(admin).post(
        f"/api/v1/projects/{project.public_id}/archive/", {"archived": True}, format="json"
    )
    response = api_client(admin).post(
        "/api/v1/tasks/", {"project": str(project.public_id), "title": "late"}, format="json"
    )
    assert response.status_code == 400 and "archived" in str(response.json())


def test_list_endpoints_cost_the_same_queries_for_more_rows(
    api_client, member, project, task, tenant, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with tenant_context(tenant):  # at least one row each: an empty page skips its query
        Comment.objects.create(task=task, author=member, body="first")
    client = api_client(member)
    counts = {}
    for path in ("/api/v1/projects/", "/api/v1/tasks/", f"/api/v1/tasks/{task.public_id}/comments/"):
        client.get(path)
        with CaptureQueriesContext(connection) as few:
            client.get(path)
        counts[path] = len(few)
    with tenant_context(tenant):
        for n in range(12):
            Project.objects.create(name=f"P{n}", created_by=member)
            Task.objects.create(project=project, title=f"T{n}", assignee=member, created_by=member)
            Comment.objects.create(task=task, author=member, body=f"c{n}")
    for path, count in counts.items():
        with django_assert_max_num_queries(count):
            client.get(path)


def test_the_projects_api_is_in_the_openapi_schema(api_client, member):
    schema = api_client(member).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/projects/", "/api/v1/tasks/", "/api/v1/tasks/{task_public_id}/comments/"} <= set(paths)


def test_reassigning_through_the_api_emails_only_the_new_assignee(
    api_client, owner, admin, member, task, tenant
):
    from tests.mailbox import mail

    client = api_client(owner)
    assert (
        client.patch(f"/api/v1/tasks/{task.public_id}/", {"title": "Renamed"}, format="json").status_code
        == 200
    )
    assert [m for m in mail.outbox if m.template == "projects/task_assigned"] == []  # same assignee
    response = client.patch(
        f"/api/v1/tasks/{task.public_id}/", {"assignee": str(admin.public_id)}, format="json"
    )
    assert response.status_code == 200 and response.json()["assignee"] == str(admin.public_id)
    assert [m.to for m in mail.outbox if m.template == "projects/task_assigned"] == [[admin.email]]
