"""The operator's view of email across tenants: per-tenant counts by status over the last 24 hours."""

from datetime import timedelta

from django.utils import timezone
from django.utils.html import format_html_join

from tenant_apps.outbox.models import OutboxMessage
from tenants.services import query_each_schema

# Worst first: what an operator scans the column for.
STATUS_ORDER = ["failed", "bounced", "complained", "queued", "sending", "sent", "delivered"]
ALARMING = {"failed", "bounced", "complained"}


def email_counts_by_schema(schemas: list[str], hours: int = 24) -> dict[str, dict[str, int]]:
    """``{schema: {status: count}}`` for the emails created in the last ``hours``, worst first,
    in one statement whatever the number of schemas."""
    since = timezone.now() - timedelta(hours=hours)
    rows = query_each_schema(
        schemas,
        OutboxMessage._meta.db_table,
        "status, count(*)",
        "WHERE created_at > %s GROUP BY status",
        [since],
    )

    def worst_first(row):
        schema, status, _ = row
        return schema, STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)

    counts: dict[str, dict[str, int]] = {}
    for schema, status, n in sorted(rows, key=worst_first):
        counts.setdefault(schema, {})[status] = n
    return counts


def email_counts_html(counts: dict[str, int] | None) -> str:
    if not counts:
        return "-"
    return format_html_join(
        ", ",
        '<span style="{}">{} {}</span>',
        (
            ("color:#c53030;font-weight:bold" if status in ALARMING else "", status, n)
            for status, n in counts.items()
        ),
    )
