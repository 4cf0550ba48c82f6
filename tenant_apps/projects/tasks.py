"""Periodic project work: the daily digest of tasks due soon, for every active tenant."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from config.celery import app
from tenant_apps.projects import emails
from tenant_apps.projects.models import DigestDelivery, NotificationPreferences, Task

logger = logging.getLogger(__name__)


@app.task(name="projects.send_due_digests")
def send_due_digests():
    """Beat entry point (runs in public): one digest task per active tenant, in its schema."""
    from tenants.models import Tenant

    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE):
        with tenant_context(tenant):
            # Sent from inside the tenant's context, the task runs in the tenant's schema.
            send_tenant_due_digest.delay()


@app.task(name="projects.send_tenant_due_digest", acks_late=True)
def send_tenant_due_digest(day: str | None = None) -> int:
    """Queue one digest per user with open tasks due today or tomorrow. Returns how many.

    Each user's digest is claimed by inserting (user, day) under a unique constraint in the same
    transaction that queues the email: a second beat run, a retry or a second worker finds the row
    and queues nothing, so a user gets exactly one digest per tenant per day.
    """
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    opted_out = set(NotificationPreferences.objects.filter(digest=False).values_list("user_id", flat=True))
    due = (Task.objects.filter(due_date__gte=today, due_date__lte=tomorrow, assignee__is_active=True,
                               project__archived=False)
           .exclude(status=Task.Status.DONE).exclude(assignee_id__in=opted_out)
           .select_related("assignee", "project").order_by("assignee_id", "due_date", "-priority"))
    by_user: dict[int, list[Task]] = {}
    for task in due:
        by_user.setdefault(task.assignee_id, []).append(task)
    sent = 0
    for tasks in by_user.values():
        user = tasks[0].assignee
        with transaction.atomic():
            _, claimed = DigestDelivery.objects.get_or_create(user=user, day=today)
            if claimed:
                emails.due_digest(user, tasks, today)
                sent += 1
    logger.info("queued %d due-task digests for %s", sent, today)
    return sent
