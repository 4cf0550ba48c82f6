"""Project emails, one function each. They all leave through the outbox (queued in the caller's
transaction, sent by a worker after commit). Whom to tell, preferences included, is decided by
``tenant_apps.projects.services``; these only render and queue."""

from django.conf import settings
from django.db import connection
from django.urls import reverse

from tenant_apps.outbox.services import queue_email


def _url(viewname: str, *args) -> str:
    """An absolute link into the current tenant's app. Reversed in the tenant URLconf by name: the
    thread's current URLconf may be the root domain's (an operator request provisioning a tenant,
    a task after one), where these views do not exist."""
    return connection.tenant.url(reverse(viewname, args=args, urlconf=settings.ROOT_URLCONF))


def task_assigned(task, assignee, actor) -> None:
    queue_email(
        [assignee.email],
        "projects/task_assigned",
        {
            "task": task,
            "project": task.project,
            "actor": actor,
            "recipient": assignee,
            "task_url": _url("projects:task", task.public_id),
            "preferences_url": _url("projects:preferences"),
        },
    )


def comment_added(comment, recipient) -> None:
    task = comment.task
    queue_email(
        [recipient.email],
        "projects/comment_added",
        {
            "comment": comment,
            "task": task,
            "recipient": recipient,
            "task_url": _url("projects:task", task.public_id),
            "preferences_url": _url("projects:preferences"),
        },
    )


def due_digest(user, tasks, day) -> None:
    queue_email(
        [user.email],
        "projects/due_digest",
        {
            "recipient": user,
            "tasks": tasks,
            "day": day,
            "my_tasks_url": _url("projects:my_tasks"),
            "preferences_url": _url("projects:preferences"),
        },
    )
