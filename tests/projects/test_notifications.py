"""Assignment and comment emails go into the outbox, to the right people only."""

import datetime

import pytest
from django.urls import set_urlconf
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects import services
from tenant_apps.projects.models import DigestDelivery, Task

pytestmark = pytest.mark.django_db


def outbox(tenant, template):
    with tenant_context(tenant):
        return list(OutboxMessage.objects.filter(template=template).order_by("created_at"))


def test_assigning_a_task_emails_the_new_assignee(tenant, other_tenant, owner, member, project):
    with tenant_context(tenant):
        task = services.create_task(owner, project, title="Review budget", assignee=member)
    [message] = outbox(tenant, "projects/task_assigned")
    assert message.to == [member.email]
    assert "Review budget" in message.subject and str(task.public_id) in message.body_text
    assert "Acme" in message.subject  # tenant-branded
    assert outbox(other_tenant, "projects/task_assigned") == []


def test_a_notification_links_into_the_tenant_app_after_a_root_domain_request(tenant, owner, member, project):
    # A thread that last served the root domain (an operator request) keeps that URLconf, where the
    # tenant's views do not exist: the email's links must not depend on it.
    set_urlconf("config.urls_public")
    try:
        with tenant_context(tenant):
            task = services.create_task(owner, project, title="After the operator", assignee=member)
    finally:
        set_urlconf(None)
    [message] = outbox(tenant, "projects/task_assigned")
    assert tenant.url(f"/tasks/{task.public_id}/") in message.body_text


def test_assigning_to_yourself_sends_nothing(tenant, member, project):
    with tenant_context(tenant):
        services.create_task(member, project, title="Self", assignee=member)
    assert outbox(tenant, "projects/task_assigned") == []


def test_reassigning_emails_only_the_new_assignee(tenant, owner, admin, member, project):
    with tenant_context(tenant):
        task = services.create_task(owner, project, title="Move", assignee=member)
        services.update_task(owner, task, title="Move it")  # no new assignee: no email
        services.update_task(owner, task, assignee=admin)
    assert [m.to for m in outbox(tenant, "projects/task_assigned")] == [[member.email], [admin.email]]


def test_a_comment_emails_the_assignee_and_the_creator_but_not_the_author(
    tenant, owner, admin, member, project
):
    with tenant_context(tenant):
        task = services.create_task(owner, project, title="Plan", assignee=member)
        services.add_comment(admin, task, "Looks good")
        services.add_comment(member, task, "Thanks")
    recipients = [m.to for m in outbox(tenant, "projects/comment_added")]
    assert sorted(recipients) == sorted([[member.email], [owner.email], [owner.email]])


def test_a_user_who_turned_off_comment_emails_gets_none(tenant, owner, member, project):
    with tenant_context(tenant):
        services.update_preferences(member, comments=False)
        task = services.create_task(owner, project, title="Quiet", assignee=member)
        services.add_comment(owner, task, "ping")
    assert outbox(tenant, "projects/comment_added") == []
    assert len(outbox(tenant, "projects/task_assigned")) == 1


def test_the_digest_sends_one_email_per_user_with_due_tasks_even_if_beat_fires_twice(
    tenant, owner, member, admin, project
):
    today = timezone.localdate()
    with tenant_context(tenant):
        Task.objects.create(project=project, title="Due today", assignee=member, due_date=today)
        Task.objects.create(
            project=project,
            title="Due tomorrow",
            assignee=member,
            due_date=today + datetime.timedelta(days=1),
        )
        Task.objects.create(
            project=project, title="Due later", assignee=admin, due_date=today + datetime.timedelta(days=5)
        )
        Task.objects.create(
            project=project, title="Done today", assignee=admin, due_date=today, status="done"
        )
        assert services.queue_due_digests() == 1
        assert services.queue_due_digests() == 0  # beat fired twice
        assert DigestDelivery.objects.count() == 1
    [digest] = outbox(tenant, "projects/due_digest")
    assert digest.to == [member.email]
    assert "Due today" in digest.body_text and "Due tomorrow" in digest.body_text
    assert "Due later" not in digest.body_text


def test_the_digest_respects_the_opt_out(tenant, member, project):
    with tenant_context(tenant):
        services.update_preferences(member, digest=False)
        Task.objects.create(project=project, title="Due", assignee=member, due_date=timezone.localdate())
        assert services.queue_due_digests() == 0
