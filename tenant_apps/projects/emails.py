"""Project emails, one function each. They all leave through the outbox (queued in the caller's
transaction, sent by a worker after commit). Whom to tell, preferences included, is decided by
``tenant_apps.projects.services``; these only render and queue."""

from django.db import connection
from django.urls import reverse

from tenant_apps.outbox.services import queue_email


def _url(path: str) -> str:
    return connection.tenant.url(path)


def task_assigned(task, assignee, actor) -> None:
    queue_email(
        [assignee.email],
        "projects/task_assigned",
        {
            "task": task,
            "project": task.project,
            "actor": actor,
            "recipient": assignee,
            "task_url": _url(reverse("projects:task", args=[task.public_id])),
            "preferences_url": _url(reverse("projects:preferences")),
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
            "task_url": _url(reverse("projects:task", args=[task.public_id])),
            "preferences_url": _url(reverse("projects:preferences")),
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
            "my_tasks_url": _url(reverse("projects:my_tasks")),
            "preferences_url": _url(reverse("projects:preferences")),
        },
    )
