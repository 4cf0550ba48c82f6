"""Who may do what in projects is one ``can_*`` predicate each (tenant_apps.projects.services); the
pages, the API and the admin ask the same one, so they agree, and each act has its own."""

import pytest
from django.contrib.auth.models import Permission
from django_tenants.utils import tenant_context

from tenant_apps.projects import services
from tenant_apps.projects.models import Project, Task

pytestmark = pytest.mark.django_db


def grant(tenant, user, codename: str) -> None:
    with tenant_context(tenant):
        permission = Permission.objects.get(content_type__app_label="projects", codename=codename)
        user.user_permissions.add(permission)


def test_archiving_and_deleting_a_project_are_two_rules_every_door_asks_separately(
    tenant, web, api_client, member, project
):
    # A member allowed to archive, not to delete: e.g. a custom role.
    grant(tenant, member, "archive_project")

    page = web(member).get(f"/projects/{project.public_id}/").content.decode()
    assert "Archive" in page and f"/projects/{project.public_id}/delete/" not in page
    assert web(member).get(f"/projects/{project.public_id}/delete/").status_code == 403
    client = api_client(member)
    assert client.delete(f"/api/v1/projects/{project.public_id}/").status_code == 403
    archived = client.post(
        f"/api/v1/projects/{project.public_id}/archive/", {"archived": True}, format="json"
    )
    assert archived.status_code == 200 and archived.json()["archived"] is True
    with tenant_context(tenant):
        assert Project.objects.filter(pk=project.pk, archived=True).exists()
        assert services.can_archive_project(member, project)
        assert not services.can_delete_project(member, project)


def test_a_member_is_refused_the_delete_page_of_someone_elses_task_and_offered_none(web, member, task):
    assert web(member).get(f"/tasks/{task.public_id}/delete/").status_code == 403
    page = web(member).get(f"/tasks/{task.public_id}/").content.decode()
    assert f"/tasks/{task.public_id}/delete/" not in page


def test_the_creator_of_a_task_and_an_admin_may_delete_it(tenant, web, member, admin, project):
    with tenant_context(tenant):
        own = services.create_task(member, project, title="Mine")

    for user in (member, admin):
        page = web(user).get(f"/tasks/{own.public_id}/").content.decode()
        assert f"/tasks/{own.public_id}/delete/" in page, user
    assert web(member).post(f"/tasks/{own.public_id}/delete/").status_code == 302
    with tenant_context(tenant):
        assert not Task.objects.filter(pk=own.pk).exists()


def test_a_rule_broken_through_the_api_answers_the_platforms_400_with_the_field(api_client, admin, project):
    api_client(admin).post(
        f"/api/v1/projects/{project.public_id}/archive/", {"archived": True}, format="json"
    )

    response = api_client(admin).post(
        "/api/v1/tasks/", {"project": str(project.public_id), "title": "Late"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"project": ["This project is archived; unarchive it to add tasks."]}
