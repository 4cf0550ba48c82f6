"""The tenant admin is one more door to the projects' rules: it writes through the services, so
assignees are checked, archived projects take no tasks and people are told."""

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects import services
from tenant_apps.projects.models import Comment, Project, Task

pytestmark = pytest.mark.django_db


def no_inline_rows(prefix: str) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def task_form(project, **fields) -> dict:
    return {
        "project": project.pk,
        "title": "From the admin",
        "description": "",
        "status": "todo",
        "priority": "2",
        "assignee": "",
        "due_date": "",
        **no_inline_rows("comments"),
        **{name: getattr(value, "pk", value) for name, value in fields.items()},
    }


def queued(tenant, template) -> list[OutboxMessage]:
    with tenant_context(tenant):
        return list(OutboxMessage.objects.filter(template=template))


def tasks_titled(tenant, title) -> list[Task]:
    with tenant_context(tenant):
        return list(Task.objects.filter(title=title))


def test_the_admin_refuses_to_assign_a_task_to_an_account_without_a_role(tenant, web, admin, nobody, project):
    response = web(admin).post("/admin/projects/task/add/", task_form(project, assignee=nobody))

    assert response.status_code == 200
    assert "active members of this workspace" in response.content.decode()
    assert tasks_titled(tenant, "From the admin") == []


def test_the_admin_adds_no_task_to_an_archived_project(tenant, web, admin, project):
    with tenant_context(tenant):
        services.set_archived(admin, project, True)

    response = web(admin).post("/admin/projects/task/add/", task_form(project))

    assert response.status_code == 200 and "archived" in response.content.decode()
    assert tasks_titled(tenant, "From the admin") == []


def test_a_task_assigned_in_the_admin_emails_the_assignee_and_records_its_creator(
    tenant, web, admin, member, project
):
    response = web(admin).post("/admin/projects/task/add/", task_form(project, assignee=member))

    assert response.status_code == 302, response.content.decode()[-2000:]
    [task] = tasks_titled(tenant, "From the admin")
    assert task.created_by == admin
    [email] = queued(tenant, "projects/task_assigned")
    assert email.to == [member.email] and "From the admin" in email.subject


def test_reassigning_in_the_admin_emails_the_new_assignee_only(tenant, web, admin, owner, member, project):
    with tenant_context(tenant):
        task = services.create_task(owner, project, title="From the admin", assignee=owner)

    response = web(admin).post(f"/admin/projects/task/{task.pk}/change/", task_form(project, assignee=member))

    assert response.status_code == 302
    assert [email.to for email in queued(tenant, "projects/task_assigned")] == [[member.email]]


def test_the_project_page_of_the_admin_adds_no_task_around_the_rules(tenant, web, admin, nobody, project):
    inline_task = {
        "tasks-TOTAL_FORMS": "1",
        "tasks-INITIAL_FORMS": "0",
        "tasks-MIN_NUM_FORMS": "0",
        "tasks-MAX_NUM_FORMS": "1000",
        "tasks-0-project": project.pk,
        "tasks-0-title": "Sneaked in",
        "tasks-0-status": "todo",
        "tasks-0-priority": "2",
        "tasks-0-assignee": nobody.pk,
    }

    web(admin).post(
        f"/admin/projects/project/{project.pk}/change/",
        {"name": "Launch", "description": "Ship it", **inline_task},
    )

    assert tasks_titled(tenant, "Sneaked in") == []


def test_a_comment_added_in_the_admin_is_the_admins_and_tells_the_assignee_and_the_creator(
    tenant, web, admin, owner, member, task
):
    response = web(admin).post("/admin/projects/comment/add/", {"task": task.pk, "body": "Looks good"})

    assert response.status_code == 302
    with tenant_context(tenant):
        comment = Comment.objects.get(body="Looks good")
    assert comment.author == admin
    told = sorted(email.to for email in queued(tenant, "projects/comment_added"))
    assert told == [[member.email], [owner.email]]


def test_archiving_in_the_admin_follows_the_archive_rule(tenant, web, admin, project):
    response = web(admin).post(
        f"/admin/projects/project/{project.pk}/change/",
        {"name": "Launch", "description": "Ship it", "archived": "on", **no_inline_rows("tasks")},
    )

    assert response.status_code == 302
    with tenant_context(tenant):
        project = Project.objects.get(pk=project.pk)
    assert project.archived and project.archived_at is not None
