"""The global admin's "Platform activity" page: the busiest tenants by requests and by emails.

Each panel is one Redis transaction answering for every tenant at once (tenants/activity.py: web
processes count requests, workers count the emails they send and fail), and the page names the
tenants of all panels with one query.
"""

import logging

import redis
from django.contrib import admin
from django.template.response import TemplateResponse

from tenants import activity
from tenants.models import Tenant

logger = logging.getLogger(__name__)

TOP = 10


def panels() -> list[tuple[str, object]]:
    """(heading, ``f(limit) -> [(schema, count)]``) for each panel, requests first."""
    return [
        ("Requests, last hour", lambda limit: activity.top_tenants(activity.REQUESTS, "hour", limit)),
        ("Requests, last 24 h", lambda limit: activity.top_tenants(activity.REQUESTS, "day", limit)),
        ("Emails sent, last 24 h", lambda limit: activity.top_tenants(activity.EMAILS_SENT, "day", limit)),
        (
            "Emails failed, last 24 h",
            lambda limit: activity.top_tenants(activity.EMAILS_FAILED, "day", limit),
        ),
    ]


def platform_activity(request):
    """Operators only: served through ``admin.site.admin_view`` (config/urls_public.py)."""
    shown = []
    for heading, top in panels():
        try:
            shown.append({"heading": heading, "rows": top(TOP), "error": ""})
        except redis.RedisError:
            logger.warning("platform activity: %s unavailable", heading, exc_info=True)
            shown.append({"heading": heading, "rows": [], "error": "Unavailable: Redis did not answer."})
    schemas = {schema for panel in shown for schema, _n in panel["rows"]}
    tenants = {t.schema_name: t for t in Tenant.objects.filter(schema_name__in=schemas)}
    for panel in shown:
        panel["rows"] = [(tenants.get(schema), schema, n) for schema, n in panel["rows"]]
    context = {
        **admin.site.each_context(request),
        "title": "Platform activity",
        "panels": shown,
    }
    return TemplateResponse(request, "admin/tenants/platform_activity.html", context)
