"""The debug toolbar's wiring for `manage.py dev` (settings: DEV_TOOLBAR): who sees it, and a
"Tenant" panel naming the schema a request ran in.

Dev only. The toolbar keeps the last requests' panels in the web process's memory (its
MemoryStore) under random request ids, and serves them at ``/__debug__/`` on every host, whatever
tenant made them: a panel of acme's request can be fetched through globex's host by whoever knows
its id. That is acceptable on a developer's loopback, never anywhere else, which is why the toolbar
is installed only by `manage.py dev` and shown only to loopback clients.
"""

import ipaddress

from debug_toolbar.panels import Panel
from django.conf import settings
from django.db import connection
from django.utils.html import format_html, format_html_join


def show_toolbar(request) -> bool:
    """The toolbar for a client on this machine, on any host (``localhost``, ``acme.localhost``):
    ``*.localhost`` resolves to loopback, so a loopback peer address is the test, for IPv4 and
    IPv6 alike (INTERNAL_IPS would need every address listed)."""
    if not settings.DEBUG:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class TenantPanel(Panel):
    """The request's tenant as routed by its Host: schema, slug, id, status, the URLconf that
    served it and the connection's search_path when the response was made."""

    title = "Tenant"

    @property
    def nav_subtitle(self):
        return self.get_stats().get("schema", "")

    def generate_stats(self, request, response):
        tenant = getattr(request, "tenant", None)
        with connection.cursor() as cursor:
            cursor.execute("SHOW search_path")
            search_path = cursor.fetchone()[0]
        status = getattr(tenant, "status", None)
        self.record_stats(
            {
                # Plain strings: the toolbar's store keeps stats as JSON.
                "schema": getattr(tenant, "schema_name", None) or connection.schema_name,
                "slug": str(getattr(tenant, "slug", "") or "—"),
                "tenant_id": str(getattr(tenant, "pk", "") or "—"),
                "status": str(status) if status else "—",
                "host": request.get_host(),
                "urlconf": getattr(request, "urlconf", None) or settings.ROOT_URLCONF,
                "search_path": search_path,
            }
        )

    @property
    def content(self):
        stats = self.get_stats()
        rows = (
            ("Schema", stats.get("schema")),
            ("Slug", stats.get("slug")),
            ("Tenant id", stats.get("tenant_id")),
            ("Status", stats.get("status")),
            ("Host", stats.get("host")),
            ("URLconf", stats.get("urlconf")),
            ("search_path", stats.get("search_path")),
        )
        body = format_html_join("", "<tr><th>{}</th><td><code>{}</code></td></tr>", rows)
        return format_html('<table class="djdt-tenant">{}</table>', body)
