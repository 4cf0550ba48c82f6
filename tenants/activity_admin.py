"""The global admin's "Platform activity" page: the busiest tenants by requests and by emails.

Each panel is one call answering for every tenant at once (a Redis transaction for requests, one
statement across schemas for emails; settings.TENANT_TOP_PANELS names the apps' panels, since the
tenancy core imports no app), and the page names the tenants of all panels with one query.
"""

import logging

import redis
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.module_loading import import_string

from tenants import activity
from tenants.models import Tenant

logger = logging.getLogger(__name__)

TOP = 10


def panels() -> list[tuple[str, object]]:
    """(heading, ``f(limit) -> [(schema, count)]``) for each panel, requests first."""
    return [
        ("Requests, last hour", lambda limit: activity.top_tenants_by_requests("hour", limit)),
        ("Requests, last 24 h", lambda limit: activity.top_tenants_by_requests("day", limit)),
        *((heading, import_string(path)) for heading, path in settings.TENANT_TOP_PANELS),
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
