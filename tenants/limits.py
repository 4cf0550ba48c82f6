"""Plans and limits: how much a tenant may have, and the one check every creating service calls.

A plan is a name in ``settings.TENANT_PLANS`` mapping to default limits (``max_users``,
``max_projects``, ``max_storage_mb``; None: no limit). The limits themselves are data on the
Tenant row (STYLE.md: per-tenant policy is data): ``change_plan`` copies a plan's defaults onto
the row, and an operator may override any of them for one tenant. The global admin, the operator
API and ``manage.py set_tenant_plan`` all change plans through ``change_plan``.

What counts is the apps' business (the tenancy core imports no app): ``TENANT_USAGE_COUNTERS``
names, per limit, a function ``f(schemas) -> {schema: count}`` answering for many tenants at once.
Storage is the tenancy core's own: the disk size of the tenant's schema (tables, their indexes and
TOAST), from PostgreSQL's catalog.

The services that create users, projects and data call ``check_limit`` inside their transaction;
it raises ``PlanLimitReached``, a PermissionDenied carrying a reason for people (the pages show it
as a form error, the API as ``403 {"detail": reason}``, the tenant admin as a form error).
"""

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils.module_loading import import_string

from tenants.models import Tenant

LIMIT_FIELDS = {"users": "max_users", "projects": "max_projects", "storage": "max_storage_mb"}
# The largest value the PositiveIntegerField columns hold: above it, a 400, never a database error.
MAX_LIMIT = 2147483647
MB = 1024 * 1024


class PlanLimitReached(PermissionDenied):
    """A creation the tenant's plan does not allow. ``str(exc)`` is the reason, for people."""

    def __init__(self, reason: str, *, what: str = "", limit: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.what = what
        self.limit = limit

    def __str__(self):
        return self.reason


# --- Plans -------------------------------------------------------------------------------------


def plan_names() -> list[str]:
    return list(settings.TENANT_PLANS)


def plan_defaults(plan: str) -> dict[str, int | None]:
    """The limits ``plan`` starts a tenant with; ValidationError keyed ``plan`` for an unknown plan."""
    if plan not in settings.TENANT_PLANS:
        raise ValidationError({"plan": [f"Choose one of: {', '.join(plan_names())}."]})
    defaults = settings.TENANT_PLANS[plan]
    return {field: defaults.get(field) for field in LIMIT_FIELDS.values()}


def validate_limits(limits: dict) -> dict[str, int | None]:
    """Each of ``limits`` (max_users, max_projects, max_storage_mb) None or a whole number from 0
    to MAX_LIMIT; ValidationError keyed by field otherwise."""
    errors = {}
    for name, value in limits.items():
        if name not in LIMIT_FIELDS.values():
            errors[name] = ["This is not a limit of a plan."]
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = ["Enter a whole number, or nothing for no limit."]
        elif value is not None and not 0 <= value <= MAX_LIMIT:
            errors[name] = [f"Enter a number from 0 to {MAX_LIMIT}, or nothing for no limit."]
    if errors:
        raise ValidationError(errors)
    return dict(limits)


def change_plan(tenant: Tenant, plan: str | None = None, **limits) -> Tenant:
    """Put ``tenant`` on ``plan`` and/or override some of its limits; return it, saved.

    A plan given (the current one too) resets every limit to that plan's defaults, then ``limits``
    override them; without a plan only the named limits change. A limit of None means no limit.
    Lowering a limit below what the tenant has removes nothing: it only stops new creations.
    Raises ValidationError keyed by field (``plan``, ``max_users``...) and changes nothing then.
    """
    validate_limits(limits)
    values = plan_defaults(plan) if plan is not None else {}
    values.update(limits)
    if plan is not None:
        values["plan"] = plan
    for name, value in values.items():
        setattr(tenant, name, value)
    if values:
        tenant.save(update_fields=[*values, "updated_at"])
    forget_storage(tenant)
    return tenant


# --- Usage -------------------------------------------------------------------------------------


def storage_bytes_by_schema(schemas) -> dict[str, int]:
    """The disk size of each schema's tables (with their indexes and TOAST), in one catalog query.

    It stats each relation's files: a median of about 7 ms for a new tenant's 22 tables, measured
    on a busy two-core development machine; too slow to pay on every write, hence the cache of
    ``storage_bytes``. Disk size, not row size: space freed by deletes is reused by later writes
    but the files shrink only after a VACUUM FULL, so deleting data lowers the figure late."""
    schemas = sorted(schemas)
    if not schemas:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'm') GROUP BY n.nspname",
            [schemas],
        )
        return {schema: int(size) for schema, size in cursor.fetchall()}


def _storage_key(tenant) -> str:
    return f"plan-storage:{tenant.schema_name}"


def storage_bytes(tenant) -> int:
    """The schema's size for write checks, cached TENANT_STORAGE_CACHE_SECONDS: a check on every
    project, task and comment need not stat every file each time, and a limit in megabytes does
    not need byte precision; the cost is that a tenant may overshoot by what it writes in that
    window. (Pages showing usage read it fresh.)"""
    size = cache.get(_storage_key(tenant))
    if size is None:
        size = storage_bytes_by_schema([tenant.schema_name]).get(tenant.schema_name, 0)
        cache.set(_storage_key(tenant), size, settings.TENANT_STORAGE_CACHE_SECONDS)
    return size


def forget_storage(tenant) -> None:
    cache.delete(_storage_key(tenant))


def _count(what: str, schemas) -> dict[str, int]:
    return import_string(settings.TENANT_USAGE_COUNTERS[what])(schemas)


def usage_by_schema(tenants) -> dict[str, dict]:
    """``{schema: {"users": n, "projects": n, "storage_mb": x}}`` for many tenants: one statement
    per counter and one for storage, whatever the number of tenants (the global admin's page, the
    operator API's list)."""
    schemas = [tenant.schema_name for tenant in tenants]
    counts = {what: _count(what, schemas) for what in settings.TENANT_USAGE_COUNTERS}
    storage = storage_bytes_by_schema(schemas)
    return {
        schema: {
            **{what: counts[what].get(schema, 0) for what in counts},
            "storage_mb": round(storage.get(schema, 0) / MB, 1),
        }
        for schema in schemas
    }


def usage(tenant) -> dict:
    """What ``tenant`` has, beside its limits: ``{"users", "projects", "storage_mb"}``."""
    return usage_by_schema([tenant])[tenant.schema_name]


def attach_usage(tenants) -> list[Tenant]:
    """Set ``plan_usage`` (``usage``'s dict) on each tenant, with one statement per counter."""
    tenants = list(tenants)
    found = usage_by_schema(tenants)
    for tenant in tenants:
        tenant.plan_usage = found.get(tenant.schema_name)
    return tenants


# --- The check ---------------------------------------------------------------------------------


def current_tenant() -> Tenant | None:
    """The tenant whose schema the connection is in (None in the public schema)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant):
        return tenant
    return Tenant.objects.filter(schema_name=connection.schema_name).first()


NOUNS = {"users": "users", "projects": "projects", "storage": "MB of data"}
REMEDIES = {
    "users": "deactivate a user or revoke an invitation, or upgrade the plan",
    "projects": "delete a project or upgrade the plan",
    "storage": "delete some data or upgrade the plan",
}


def check_limit(tenant: Tenant | None, what: str, adding: int = 1) -> None:
    """Raise PlanLimitReached if ``tenant`` (None: the connection's) may not have ``adding`` more
    ``what`` ("users", "projects"; "storage": ``adding`` bytes about to be written).

    Refused when what it has plus ``adding`` would pass the limit (``adding=0``: only when it is
    already past it, e.g. the limit was lowered). Inside a transaction it locks the tenant's row
    (FOR NO KEY UPDATE, which plain reads and foreign keys do not wait for), so two concurrent
    creations cannot both take the last place: the second waits for the first to commit, then counts.
    """
    tenant = tenant if tenant is not None else current_tenant()
    if tenant is None:
        return
    field = LIMIT_FIELDS[what]
    rows = Tenant.objects.filter(pk=tenant.pk)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update(no_key=True)
    row = rows.values("name", "plan", field).first()
    if row is None or row[field] is None:
        return
    limit = row[field]
    if what == "storage":
        used, allowed, shown = storage_bytes(tenant), limit * MB, limit
    else:
        used = _count(what, [tenant.schema_name]).get(tenant.schema_name, 0)
        allowed = shown = limit
    if used + adding > allowed:
        raise PlanLimitReached(
            f"{row['name']}'s plan ({row['plan']}) allows {shown} {NOUNS[what]}; {REMEDIES[what]}.",
            what=what,
            limit=limit,
        )
