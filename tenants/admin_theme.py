"""What each admin site shows in django-unfold: its colours, sidebar and dashboard.

``config(site, key)`` answers unfold's settings for one site (tenants/admin_site.py asks it before
settings.UNFOLD). The global admin's navigation and dashboard are here; the tenant admin's come from
the tenant apps through settings hooks (TENANT_ADMIN_NAVIGATION_HOOK, TENANT_ADMIN_DASHBOARD_HOOK),
since the tenancy core imports no app.

**Navigation.** Groups of registered models (by label, ``"tenants.tenant"``) and pages (an URL
name and a permission predicate). A model shows only when the site registers it and the user may
view it; every registered model that no group names is listed under "More", and the security tables
(auth groups, axes, knox, two-factor devices) under a collapsed "Security", so nothing an admin
registers disappears from the sidebar.

**Dashboards.** A dashboard is a list of panels, ``{"title", "headers", "rows", "empty", "id"}``:
rows of cells, a cell being a value or ``{"text", "url"}``. Each panel of the global dashboard is
one SQL statement (two for the emails: the hook's catalog check, then its UNION), whatever the
number of tenants: no loop runs a query per tenant.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, IntegerField, Value
from django.db.models.functions import Cast, TruncDate
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from tenants import services
from tenants.models import Domain, Tenant, TenantExport

# --- Colours -------------------------------------------------------------------------------------

DEFAULT_COLOR = "#2b6cb0"  # the workspace pages' default brand colour (accounts/app.html)
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
# Unfold's palette weights, as the share of the brand colour mixed with white (lighter) or black.
_TINTS = {"50": 8, "100": 16, "200": 30, "300": 50, "400": 75}
_SHADES = {"600": 85, "700": 70, "800": 55, "900": 42, "950": 30}


def brand_color(tenant) -> str:
    """The tenant's ``branding["color"]`` when it is a hex colour, else the default: the value goes
    into a stylesheet, so anything else (``red;}</style>``) is refused, not escaped."""
    color = (getattr(tenant, "branding", None) or {}).get("color") if tenant else None
    return color if isinstance(color, str) and _HEX.match(color) else DEFAULT_COLOR


def palette(color: str) -> dict[str, str]:
    """Unfold's 50-950 weights around ``color`` (500), mixed by the browser (CSS color-mix)."""
    weights = {"500": color}
    weights |= {w: f"color-mix(in oklab, {color} {p}%, white)" for w, p in _TINTS.items()}
    weights |= {w: f"color-mix(in oklab, {color} {p}%, black)" for w, p in _SHADES.items()}
    return dict(sorted(weights.items(), key=lambda item: int(item[0])))


def _colors(primary: str):
    from unfold.settings import CONFIG_DEFAULTS

    def colors(request):
        # A fresh dict per request: unfold converts the values in place.
        return {
            name: dict(weights) for name, weights in CONFIG_DEFAULTS["COLORS"].items() if name != "primary"
        } | {"primary": palette(primary if primary else brand_color(getattr(request, "tenant", None)))}

    return colors


# --- Navigation ----------------------------------------------------------------------------------

SECURITY_APPS = {"auth", "axes", "knox", "otp_totp", "otp_static", "django_otp"}


def _model_item(site, request, model, model_admin, title=None) -> dict | None:
    if not model_admin.has_view_or_change_permission(request):
        return None
    opts = model._meta
    try:
        link = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_changelist", current_app=site.name)
    except NoReverseMatch:
        return None
    return {"title": title or str(opts.verbose_name_plural).capitalize(), "link": link}


def navigation(site, request, groups) -> list[dict]:
    """Unfold's sidebar groups from ``groups``: ``[(title, [entry])]``, an entry being a model label
    or ``(title, url name, permitted(request))``; then "More" and "Security" (module docstring)."""
    registry = {
        model._meta.label_lower: (model, model_admin) for model, model_admin in site._registry.items()
    }
    named = set()
    result = []
    for title, entries in groups:
        items = []
        for entry in entries:
            if isinstance(entry, str):
                named.add(entry)
                if entry in registry:
                    items.append(_model_item(site, request, *registry[entry]))
            else:
                heading, url_name, permitted = entry
                if permitted(request):
                    items.append({"title": heading, "link": reverse(url_name)})
        if items := [item for item in items if item]:
            result.append({"title": title, "items": items})
    more, security = [], []
    for label, (model, model_admin) in sorted(registry.items()):
        if label in named:
            continue
        bucket = security if model._meta.app_label in SECURITY_APPS else more
        bucket.append(_model_item(site, request, model, model_admin))
    if more := [item for item in more if item]:
        result.append({"title": "More", "items": more})
    if security := [item for item in security if item]:
        result.append({"title": "Security", "collapsible": True, "items": security})
    return result


def _is_operator(request) -> bool:
    return services.can_operate_platform(request.user)


PLATFORM_GROUPS = [
    (
        "Platform",
        [
            ("Dashboard", "admin:index", _is_operator),
            "tenants.tenant",
            "tenants.domain",
            "tenants.tenantexport",
            ("Platform activity", "platform_activity", _is_operator),
        ],
    ),
    ("Operators", ["accounts.user"]),
]


def _tenant_groups(request):
    return [
        ("Workspace", [("Dashboard", "admin:index", _any)]),
        *import_string(settings.TENANT_ADMIN_NAVIGATION_HOOK)(request),
    ]


def _any(request) -> bool:
    return True


# --- Each site's unfold settings -----------------------------------------------------------------

_PLATFORM = {"SITE_SYMBOL": "hub", "COLORS": _colors("#4f46e5")}
_TENANT = {"SITE_SYMBOL": "workspaces", "SITE_URL": "/", "COLORS": _colors("")}


def _is_tenant_site(site) -> bool:
    # A class attribute of the sites (tenants/admin_site.py), which import this module, not the reverse.
    return getattr(site, "theme", "platform") == "tenant"


def config(site, key: str):
    """``site``'s value for unfold's setting ``key``, or None (unfold's own settings then)."""
    tenant = _is_tenant_site(site)
    if key == "SIDEBAR":
        groups = _tenant_groups if tenant else (lambda request: PLATFORM_GROUPS)
        return {
            "show_search": True,
            "show_all_applications": False,
            "navigation": lambda request: navigation(site, request, groups(request)),
        }
    return (_TENANT if tenant else _PLATFORM).get(key)


def dashboard(site, request) -> dict:
    """The index's context: ``{"panels": [...]}`` for the site."""
    if _is_tenant_site(site):
        name = getattr(getattr(request, "tenant", None), "name", "Workspace")
        return {
            "title": f"Manage {name}",
            "panels": import_string(settings.TENANT_ADMIN_DASHBOARD_HOOK)(request),
        }
    return {"panels": platform_panels()}


# --- The global dashboard ------------------------------------------------------------------------

SENT = ("sent", "delivered")
FAILED = ("failed", "bounced", "complained")


def _link(text, url_name, *args, query=""):
    return {"text": text, "url": reverse(url_name, args=args) + query}


def tenants_by_status_and_plan() -> dict:
    statuses = list(Tenant.Status)
    counts: dict[str, dict[str, int]] = {}
    for row in Tenant.objects.order_by().values("plan", "status").annotate(n=Count("id")):
        counts.setdefault(row["plan"], {})[row["status"]] = row["n"]
    rows = [
        [
            _link(plan, "admin:tenants_tenant_changelist", query=f"?plan={plan}"),
            *(by_status.get(status.value, 0) for status in statuses),
            sum(by_status.values()),
        ]
        for plan, by_status in sorted(counts.items())
    ]
    if rows:
        rows.append(["All plans", *(sum(r[i + 1] for r in rows) for i in range(len(statuses) + 1))])
    return {
        "id": "tenants-by-status",
        "title": "Tenants by status and plan",
        "headers": ["Plan", *(status.label for status in statuses), "Total"],
        "rows": rows,
        "empty": "No tenants yet.",
    }


def signups(days: int = 30) -> dict:
    since = timezone.localdate() - timedelta(days=days - 1)
    by_day = dict(
        Tenant.objects.filter(created_at__date__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    peak = max(by_day.values(), default=0)
    rows = [
        [day.isoformat(), by_day[day], {"bar": round(100 * by_day[day] / peak)}]
        for day in sorted(by_day, reverse=True)
    ]
    return {
        "id": "signups",
        "title": f"Signups, last {days} days: {sum(by_day.values())}",
        "headers": ["Day", "New tenants", ""],
        "rows": rows,
        "empty": f"No new tenant in the last {days} days.",
    }


def email_totals(hours: int = 24) -> tuple[dict, dict[str, dict[str, int]], dict[str, tuple]]:
    """The emails panel, ``{schema: {status: count}}`` and ``{schema: (pk, slug)}`` of live tenants
    (for the attention panel's failed senders)."""
    tenants = {
        schema: (pk, slug)
        for schema, pk, slug in Tenant.objects.exclude(status=Tenant.Status.DELETED)
        .order_by()
        .values_list("schema_name", "pk", "slug")
    }
    by_schema = import_string(settings.TENANT_EMAIL_COUNTS_HOOK)(list(tenants)) if tenants else {}
    totals: dict[str, int] = {}
    for counts in by_schema.values():
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
    sent = sum(totals.get(status, 0) for status in SENT)
    failed = sum(totals.get(status, 0) for status in FAILED)
    waiting = sum(n for status, n in totals.items() if status not in SENT + FAILED)
    panel = {
        "id": "emails",
        "title": f"Emails, last {hours} h",
        "headers": ["Sent", "Failed", "Waiting", "Tenants sending"],
        "rows": [[sent, failed, waiting, sum(1 for counts in by_schema.values() if counts)]],
        "empty": "",
    }
    return panel, by_schema, tenants


def largest_tenants(limit: int = 10) -> dict:
    """The tenants whose schemas take the most disk (tables, indexes, TOAST), one catalog query;
    then their users, one UNION statement for the ``limit`` shown."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, coalesce(sum(pg_total_relation_size(c.oid)), 0) AS size "
            f"FROM {Tenant._meta.db_table} t "
            "JOIN pg_namespace n ON n.nspname = t.schema_name "
            "LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm') "
            "GROUP BY t.id ORDER BY size DESC, t.id LIMIT %s",
            [limit],
        )
        sizes = dict(cursor.fetchall())
    tenants = services.attach_user_counts(Tenant.objects.filter(pk__in=sizes))
    tenants.sort(key=lambda tenant: (-sizes[tenant.pk], tenant.pk))
    return {
        "id": "largest",
        "title": "Largest tenants",
        "headers": ["Tenant", "Plan", "Schema size", "Users"],
        "rows": [
            [
                _link(tenant.name, "admin:tenants_tenant_change", tenant.pk),
                tenant.plan,
                {"bytes": sizes[tenant.pk]},
                tenant.user_count,
            ]
            for tenant in tenants
        ],
        "empty": "No tenant schemas yet.",
    }


def needs_attention(
    emails_by_schema: dict[str, dict[str, int]], tenants: dict[str, tuple], limit: int = 20
) -> dict:
    """Suspended tenants, deleted ones awaiting purge, custom domains failing verification, failed
    exports of the last week, in one UNION statement; tenants with failed emails from the emails
    panel's figures (no query)."""
    text = CharField()

    def row(queryset, kind, tenant_path, detail, model):
        return (
            queryset.order_by()
            .annotate(
                a_kind=Value(kind, output_field=text),
                a_model=Value(model, output_field=text),
                a_tenant=Cast(tenant_path, text),
                a_detail=Cast(detail, text),
                a_key=Cast("pk", IntegerField()),
            )
            .values_list("a_kind", "a_model", "a_tenant", "a_detail", "a_key")[:limit]
        )

    week = timezone.now() - timedelta(days=7)
    rows = row(
        Tenant.objects.filter(status__in=[Tenant.Status.SUSPENDED, Tenant.Status.DELETED]),
        "tenant",
        "slug",
        "status",
        "tenant",
    ).union(
        row(
            Domain.objects.filter(verified_at__isnull=True).exclude(verification_error=""),
            "domain",
            "tenant__slug",
            "verification_error",
            "domain",
        ),
        row(
            TenantExport.objects.filter(status=TenantExport.Status.FAILED, created_at__gte=week),
            "export",
            "tenant__slug",
            "error",
            "tenantexport",
        ),
        all=True,
    )
    labels = {"suspended": "Suspended", "deleted": "Deleted, awaiting purge"}
    shown = []
    for kind, model, slug, detail, key in rows:
        url = reverse(f"admin:tenants_{model}_change", args=[key])
        if kind == "tenant":
            shown.append([labels.get(detail, detail), {"text": slug, "url": url}, ""])
        elif kind == "domain":
            shown.append(["Domain failing verification", {"text": slug, "url": url}, detail])
        else:
            shown.append(["Export failed", {"text": slug, "url": url}, detail])
    failing = sorted(
        (schema, sum(counts.get(status, 0) for status in FAILED))
        for schema, counts in emails_by_schema.items()
        if any(counts.get(status) for status in FAILED)
    )
    for schema, n in failing[:limit]:
        pk, slug = tenants[schema]
        shown.append(
            ["Failed emails, last 24 h", _link(slug, "admin:tenants_tenant_change", pk), f"{n} failed"]
        )
    return {
        "id": "attention",
        "title": "Needs attention",
        "headers": ["What", "Tenant", "Detail"],
        "rows": shown,
        "empty": "Nothing needs attention.",
    }


def platform_panels() -> list[dict]:
    emails, by_schema, tenants = email_totals()
    return [
        needs_attention(by_schema, tenants),
        tenants_by_status_and_plan(),
        emails,
        signups(),
        largest_tenants(),
    ]
