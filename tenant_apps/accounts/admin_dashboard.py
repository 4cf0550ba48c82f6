"""A tenant admin's sidebar and dashboard (settings.TENANT_ADMIN_NAVIGATION_HOOK and
TENANT_ADMIN_DASHBOARD_HOOK; tenants/admin_theme.py renders them).

Each panel is one SQL statement in the tenant's schema, however many members, projects or emails it
counts (grouped counts joined with ``UNION ALL``), so the page costs the same for a team of 3 and
of 300. A panel is ``{"id", "title", "headers", "rows", "empty"}``, a cell a value or
``{"text", "url"}``.
"""

from datetime import timedelta

from django.db.models import Case, CharField, Count, F, IntegerField, Value, When
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from tenant_apps.accounts import services
from tenant_apps.accounts.models import Invitation, User
from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects.models import Comment, Project, Task

_TEXT = CharField()
RECENT = 10


def _can_export(request) -> bool:
    return services.can_export_workspace(request.user)


def navigation(request) -> list:
    return [
        ("Team", ["accounts.user", "accounts.invitation"]),
        (
            "Projects",
            ["projects.project", "projects.task", "projects.comment", "projects.notificationpreferences"],
        ),
        ("Outbox", ["outbox.outboxmessage"]),
        ("Exports", [("Export the workspace's data", "tenant_exports", _can_export)]),
    ]


def _counted(queryset, label):
    """``(label, count)`` rows of ``queryset`` grouped by the text expression ``label``."""
    return (
        queryset.order_by()
        .annotate(label=label)
        .values("label")
        .annotate(n=Count("pk"))
        .values_list("label", "n")
    )


def _counts(*querysets) -> dict[str, int]:
    """``{label: n}`` of ``_counted`` querysets, in one statement."""
    first, *rest = querysets
    counts: dict[str, int] = {}
    for label, n in first.union(*rest, all=True) if rest else first:
        counts[label] = counts.get(label, 0) + n
    return counts


def _text(value: str) -> Value:
    return Value(value, output_field=_TEXT)


def _changelist(model, query: str = "") -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + query


def team() -> dict:
    """Active members by role, deactivated accounts, pending invitations."""
    counts = _counts(
        # "owner:<group id>": the list's filter takes the role group's id.
        _counted(
            User.objects.filter(is_active=True, groups__name__in=Role.values),
            Concat(F("groups__name"), _text(":"), Cast("groups__id", _TEXT), output_field=_TEXT),
        ),
        _counted(User.objects.filter(is_active=False), _text("deactivated")),
        _counted(
            Invitation.objects.filter(
                accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
            ),
            _text("pending"),
        ),
    )
    users = _changelist(User)
    roles = {
        label.partition(":")[0]: (label.partition(":")[2], n) for label, n in counts.items() if ":" in label
    }
    rows = []
    for role in Role:
        group_id, n = roles.get(role.value, (None, 0))
        query = f"?groups__id__exact={group_id}" if group_id else ""
        rows.append([{"text": f"{role.label}s", "url": users + query}, n])
    rows.append([{"text": "Deactivated", "url": f"{users}?is_active__exact=0"}, counts.get("deactivated", 0)])
    rows.append([{"text": "Pending invitations", "url": _changelist(Invitation)}, counts.get("pending", 0)])
    return {"id": "team", "title": "Team", "headers": ["", "People"], "rows": rows, "empty": ""}


def projects() -> dict:
    """Open and archived projects, and the open projects' overdue tasks (due before today, not done)."""
    counts = _counts(
        _counted(
            Project.objects.all(),
            Case(When(archived=True, then=_text("archived")), default=_text("open"), output_field=_TEXT),
        ),
        _counted(
            Task.objects.filter(due_date__lt=timezone.localdate(), project__archived=False).exclude(
                status=Task.Status.DONE
            ),
            _text("overdue"),
        ),
    )
    rows = [
        [{"text": "Open projects", "url": _changelist(Project, "?archived__exact=0")}, counts.get("open", 0)],
        [
            {"text": "Archived projects", "url": _changelist(Project, "?archived__exact=1")},
            counts.get("archived", 0),
        ],
        [{"text": "Overdue tasks", "url": _changelist(Task)}, counts.get("overdue", 0)],
    ]
    return {"id": "projects", "title": "Projects", "headers": ["", "Count"], "rows": rows, "empty": ""}


def recent_activity(limit: int = RECENT) -> dict:
    """The latest tasks and comments, newest first."""

    def rows(queryset, kind, title, who):
        return (
            queryset.order_by("-created_at")
            .annotate(
                kind=_text(kind),
                what=F(title),
                who=F(who),
                key=Cast("pk", IntegerField()),
            )
            .values_list("created_at", "kind", "what", "who", "key")[:limit]
        )

    latest = (
        rows(Task.objects.all(), "task", "title", "created_by__email")
        .union(rows(Comment.objects.all(), "comment", "task__title", "author__email"), all=True)
        .order_by("-created_at")[:limit]
    )
    shown = []
    for created_at, kind, what, who, key in latest:
        url = reverse(f"admin:projects_{kind}_change", args=[key])
        label = "New task" if kind == "task" else "Comment on"
        shown.append(
            [
                timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M"),
                label,
                {"text": what, "url": url},
                who or "-",
            ]
        )
    return {
        "id": "activity",
        "title": "Recent activity",
        "headers": ["When", "What", "Task", "By"],
        "rows": shown,
        "empty": "No tasks or comments yet.",
    }


OUTBOX_GROUPS = {
    "Waiting to send": (OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING),
    "Sent": (OutboxMessage.Status.SENT, OutboxMessage.Status.DELIVERED),
    "Failed": (OutboxMessage.Status.FAILED, OutboxMessage.Status.BOUNCED, OutboxMessage.Status.COMPLAINED),
}


def outbox_health(hours: int = 24) -> dict:
    """The emails created in the last ``hours``, by outcome."""
    since = timezone.now() - timedelta(hours=hours)
    counts = _counts(_counted(OutboxMessage.objects.filter(created_at__gt=since), F("status")))
    rows = [
        [
            {"text": heading, "url": _changelist(OutboxMessage, "?status__in=" + ",".join(statuses))},
            sum(counts.get(status, 0) for status in statuses),
        ]
        for heading, statuses in OUTBOX_GROUPS.items()
    ]
    return {
        "id": "outbox",
        "title": f"Emails, last {hours} h",
        "headers": ["", "Emails"],
        "rows": rows,
        "empty": "",
    }


def panels(request) -> list[dict]:
    return [team(), projects(), outbox_health(), recent_activity()]
