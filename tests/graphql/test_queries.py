"""What /graphql/ answers: filters, cursor pagination, a fixed number of SQL queries per page, and
mutations that go through the same services as the REST API (the same rules, emails and errors)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.projects import services
from tenant_apps.projects.models import Comment, Project, Task
from tests.mailbox import mail

pytestmark = pytest.mark.django_db

TASK_PAGE = """
query($first: Int, $after: String) {
  tasks(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id title status commentCount project { id name } assignee { id email name } } }
  }
}
"""


def make_tasks(tenant, owner, member, count: int, project_count: int = 3) -> list[Task]:
    """``count`` tasks spread over a few projects, half assigned to ``member``, each with two comments."""
    with tenant_context(tenant):
        projects = [
            Project.objects.create(name=f"Project {n}", created_by=owner) for n in range(project_count)
        ]
        tasks = Task.objects.bulk_create(
            Task(
                project=projects[n % project_count],
                title=f"Task {n:03}",
                assignee=member if n % 2 else None,
                created_by=owner,
            )
            for n in range(count)
        )
        Comment.objects.bulk_create(
            Comment(task=task, author=owner, body="note") for task in tasks for _ in range(2)
        )
        return tasks


def queries_for(client, count_of_tasks: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        body = client(TASK_PAGE, {"first": 100})
    assert len(body["data"]["tasks"]["edges"]) == count_of_tasks
    return len(captured.captured_queries)


def test_a_page_of_tasks_with_project_assignee_and_comment_count_costs_a_fixed_number_of_queries(
    gql, tenant, owner, member, django_assert_max_num_queries
):
    client = gql(member)
    make_tasks(tenant, owner, member, 5)
    five = queries_for(client, 5)
    make_tasks(tenant, owner, member, 45)
    with django_assert_max_num_queries(five):
        body = client(TASK_PAGE, {"first": 50})
    nodes = [edge["node"] for edge in body["data"]["tasks"]["edges"]]
    assert len(nodes) == 50 and all(node["commentCount"] == 2 for node in nodes)
    assert all(node["project"]["name"].startswith("Project") for node in nodes)
    assert {node["assignee"]["email"] if node["assignee"] else None for node in nodes} == {member.email, None}
    # Nested comments are prefetched too: one page of tasks with theirs still costs a fixed number.
    nested = (
        "{ tasks(first: 40) { edges { node { title "
        "comments(first: 5) { edges { node { body author { email } } } } } } } }"
    )
    with CaptureQueriesContext(connection) as captured:
        body = client(nested)
    assert all(len(edge["node"]["comments"]["edges"]) == 2 for edge in body["data"]["tasks"]["edges"])
    assert len(captured.captured_queries) <= five + 2


def test_cursor_pagination_walks_every_task_once(gql, tenant, owner, member):
    make_tasks(tenant, owner, member, 7)
    client = gql(member)
    seen, after = [], None
    while True:
        page = client(TASK_PAGE, {"first": 3, "after": after})["data"]["tasks"]
        assert page["totalCount"] == 7
        seen += [edge["node"]["title"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == [f"Task {n:03}" for n in range(7)]


def test_the_task_filters_are_the_rest_apis(gql, tenant, owner, member):
    tasks = make_tasks(tenant, owner, member, 6)
    with tenant_context(tenant):
        Task.objects.filter(pk=tasks[0].pk).update(status=Task.Status.DONE, title="Shipped")
        Task.objects.filter(pk=tasks[1].pk).update(due_date=timezone.localdate() - datetime.timedelta(days=2))
        project = tasks[2].project
    client = gql(member)

    def titles(arguments: str) -> set[str]:
        body = client(f"{{ tasks(first: 100{arguments}) {{ edges {{ node {{ title }} }} }} }}")
        assert "errors" not in body, body
        return {edge["node"]["title"] for edge in body["data"]["tasks"]["edges"]}

    assert titles(", status: DONE") == {"Shipped"}
    assert titles(', assignee: "me"') == {"Task 001", "Task 003", "Task 005"}
    assert titles(', assignee: "none"') == {"Shipped", "Task 002", "Task 004"}
    assert titles(", due: OVERDUE") == {"Task 001"}
    assert titles(f', project: "{project.public_id}"') == {"Task 002", "Task 005"}
    assert titles(', search: "shipped"') == {"Shipped"}
    refused = client('{ tasks(assignee: "somebody") { edges { node { id } } } }')
    assert refused["errors"][0]["extensions"]["fields"] == {
        "assignee": ["Must be me, none or a valid id (UUID)."]
    }


def test_projects_list_active_or_archived_and_search(gql, tenant, owner, member):
    with tenant_context(tenant):
        services.create_project(owner, name="Alpha")
        services.set_archived(owner, services.create_project(owner, name="Beta"), True)
    client = gql(member)

    def names(arguments: str = "") -> list[str]:
        body = client(f"{{ projects(first: 10{arguments}) {{ edges {{ node {{ name archived }} }} }} }}")
        return [edge["node"]["name"] for edge in body["data"]["projects"]["edges"]]

    assert names() == ["Alpha"]
    assert names(", archived: true") == ["Beta"]
    assert names(', search: "alp"') == ["Alpha"]


def sent_since(start: int, template: str) -> list[list[str]]:
    return [m.to for m in mail.outbox[start:] if m.template == template]


def test_creating_a_task_emails_its_assignee_as_the_rest_api_does(gql, tenant, owner, admin, rows):
    start = len(mail.outbox)
    body = gql(owner)(
        'mutation($p: UUID!, $a: UUID) { createTask(input: {project: $p, title: "Review", assignee: $a, '
        'priority: 3, dueDate: "2030-01-31"}) '
        "{ id title priority dueDate assignee { email } createdBy { email } } }",
        {"p": rows["project"], "a": str(admin.public_id)},
    )
    task = body["data"]["createTask"]
    assert task["assignee"]["email"] == admin.email and task["createdBy"]["email"] == owner.email
    assert task["priority"] == 3 and task["dueDate"] == "2030-01-31"
    assert sent_since(start, "projects/task_assigned") == [[admin.email]]


def test_a_comment_tells_the_assignee_and_creator_not_the_author(gql, owner, admin, member, rows):
    start = len(mail.outbox)
    body = gql(admin)(
        'mutation($t: UUID!) { addComment(task: $t, body: "  Looks good  ") { body author { email } } }',
        {"t": rows["task"]},
    )
    assert body["data"]["addComment"] == {"body": "Looks good", "author": {"email": admin.email}}
    recipients = sorted(to[0] for to in sent_since(start, "projects/comment_added"))
    assert recipients == sorted([owner.email, member.email])


def test_an_update_changes_only_the_fields_it_names(gql, tenant, member, rows):
    client = gql(member)
    body = client(
        "mutation($id: UUID!) { updateTask(id: $id, input: {status: DOING}) "
        "{ status title assignee { email } } }",
        {"id": rows["task"]},
    )
    assert body["data"]["updateTask"] == {
        "status": "DOING",
        "title": "Write the plan",
        "assignee": {"email": member.email},
    }
    body = client(
        "mutation($id: UUID!) { updateTask(id: $id, input: {assignee: null}) { assignee { email } } }",
        {"id": rows["task"]},
    )
    assert body["data"]["updateTask"] == {"assignee": None}


def test_a_refused_mutation_gives_field_errors_and_writes_nothing(gql, tenant, owner, member, rows):
    with tenant_context(tenant):
        services.set_archived(owner, Project.objects.get(public_id=rows["project"]), True)
        before = Task.objects.count()
    client = gql(member)
    body = client(
        'mutation($p: UUID!) { createTask(input: {project: $p, title: "Late"}) { id } }',
        {"p": rows["project"]},
    )
    assert body["data"] == {"createTask": None}
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"project": ["This project is archived; unarchive it to add tasks."]},
    }
    long_title = client(
        "mutation($p: UUID!, $t: String!) { createTask(input: {project: $p, title: $t}) { id } }",
        {"p": rows["project"], "t": "x" * 201},
    )
    assert list(long_title["errors"][0]["extensions"]["fields"]) == ["title"]
    with tenant_context(tenant):
        assert Task.objects.count() == before


def test_the_last_owner_keeps_the_role_with_the_services_message(gql, owner):
    body = gql(owner)(
        "mutation($id: UUID!) { setRole(id: $id, role: MEMBER) { role } }", {"id": str(owner.public_id)}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert list(body["errors"][0]["extensions"]["fields"]) == ["role"]


def test_an_admin_cannot_touch_an_owner_and_is_told_why(gql, admin, owner):
    body = gql(admin)("mutation($id: UUID!) { deactivateUser(id: $id) { id } }", {"id": str(owner.public_id)})
    assert body["errors"][0] == {
        "message": "Only an owner can grant or remove the owner role.",
        "locations": [{"line": 1, "column": 24}],
        "path": ["deactivateUser"],
        "extensions": {"code": "FORBIDDEN"},
    }


def test_inviting_emails_the_link_and_a_bad_address_is_a_field_error(gql, admin):
    client = gql(admin)
    start = len(mail.outbox)
    body = client(
        'mutation { inviteUser(email: "new@acme.test", role: MEMBER) { email role status invitedBy } }'
    )
    assert body["data"]["inviteUser"] == {
        "email": "new@acme.test",
        "role": "MEMBER",
        "status": "pending",
        "invitedBy": admin.email,
    }
    assert sent_since(start, "accounts/invitation") == [["new@acme.test"]]
    refused = client('mutation { inviteUser(email: "not an address") { id } }')
    assert list(refused["errors"][0]["extensions"]["fields"]) == ["email"]


def test_me_and_the_team_show_roles(gql, owner, admin, member, nobody):
    assert gql(nobody)("{ me { email role } }")["data"]["me"] == {"email": nobody.email, "role": None}
    team = gql(member)("{ users(first: 10) { edges { node { email role isActive } } } }")["data"]["users"][
        "edges"
    ]
    roles = {edge["node"]["email"]: edge["node"]["role"] for edge in team}
    assert roles[owner.email] == "OWNER" and roles[admin.email] == "ADMIN" and roles[member.email] == "MEMBER"


def test_a_task_read_alone_or_returned_by_a_mutation_has_its_comment_count(gql, member, rows):
    client = gql(member)
    assert client("query($id: UUID!) { task(id: $id) { commentCount } }", {"id": rows["task"]})["data"] == {
        "task": {"commentCount": 1}
    }
    changed = client(
        'mutation($id: UUID!) { updateTask(id: $id, input: {title: "Again"}) { commentCount } }',
        {"id": rows["task"]},
    )
    assert changed["data"] == {"updateTask": {"commentCount": 1}}
    created = client(
        'mutation($p: UUID!) { createTask(input: {project: $p, title: "New"}) '
        "{ commentCount comments { totalCount } } }",
        {"p": rows["project"]},
    )
    assert created["data"] == {"createTask": {"commentCount": 0, "comments": {"totalCount": 0}}}
