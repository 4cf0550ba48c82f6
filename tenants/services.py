"""Tenant lifecycle: the one place that provisions, suspends, reactivates and deletes tenants.

The management commands, the global admin and the operator API all call these functions, so the
rules (validation, all-or-nothing creation, cache invalidation) hold whichever door is used.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import get_public_schema_name, tenant_context
from psycopg.errors import DuplicateSchema

from tenants import limits, metrics, pool
from tenants.lifecycle import (  # noqa: F401  (re-exported: services is the lifecycle's one entry point)
    LifecycleRefused,
    delete_expired_redirects,
    delete_tenant,
    free_schema_name,
    purge_after,
    purge_deleted_tenants,
    purge_tenant,
    rename_tenant,
    restore_tenant,
    slug_problems,
)
from tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionedTenant:
    # No set-password link: it is the owner's, emailed to them alone (STYLE.md, secrets), never
    # handed to the operator who provisions.
    tenant: Tenant
    owner: object


def can_operate_platform(user) -> bool:
    """Operate the platform (the global admin, the operator API, an operator's API token): an active
    staff account of the public schema. The same flag in a tenant's schema makes a tenant's staff,
    who operate nothing here."""
    return bool(
        connection.schema_name == get_public_schema_name()
        and user
        and user.is_authenticated
        and user.is_active
        and user.is_staff
    )


def check_new_tenant(slug: str, name: str, owner_email: str) -> None:
    """Raise ValidationError keyed by field for anything that would stop provisioning."""
    errors: dict[str, list[str]] = {}
    # Taken includes a host another tenant was renamed away from, until its redirect expires.
    if problems := slug_problems(slug):
        errors["slug"] = problems
    name = (name or "").strip()
    if not name:
        errors["name"] = ["A name is required."]
    elif len(name) > (name_length := Tenant._meta.get_field("name").max_length):
        errors["name"] = [f"A name is at most {name_length} characters long."]
    User = get_user_model()
    email_length = User._meta.get_field(User.get_email_field_name()).max_length
    try:
        validate_email(owner_email or "")
    except ValidationError:
        errors["owner_email"] = ["Enter a valid email address for the owner."]
    else:
        if len(owner_email) > email_length:
            errors["owner_email"] = [f"An email address is at most {email_length} characters long."]
    if errors:
        raise ValidationError(errors)


@metrics.provisioning_timed
def provision_tenant(
    slug: str,
    name: str,
    owner_email: str,
    *,
    owner_password: str | None = None,
    owner_name: str = "",
    plan: str | None = None,
) -> ProvisionedTenant:
    """Create a tenant, its schema (migrated), its primary domain and its owner, all or nothing.

    Everything runs in one transaction: PostgreSQL's DDL is transactional, so a failure at any
    step (schema, domain, owner) rolls back the schema and the rows together, and gives a claimed
    spare back to the pool. The schema is a ready spare, else a copy of the template, else
    migrated in place (tenants.pool); ``tenant.schema_path`` says which. The
    owner is the accounts app's business: TENANT_FIRST_OWNER_HOOK names the function that creates
    them and, when no password is given, emails them a one-time set-password link (that link
    reaches the owner only: it is not returned), called in the new tenant's schema.
    The tenant starts on ``plan`` (TENANT_DEFAULT_PLAN if None) with that plan's limits
    (tenants.limits); its owner is created whatever the limits say.
    Raises ValidationError (keyed by field) for bad or taken input.
    """
    check_new_tenant(slug, name, owner_email)
    plan = plan or settings.TENANT_DEFAULT_PLAN
    plan_limits = limits.plan_defaults(plan)
    try:
        with transaction.atomic():
            tenant = Tenant(
                # The slug's schema name unless a renamed tenant still holds it (tenants.lifecycle).
                schema_name=free_schema_name(slug),
                slug=slug,
                name=name.strip(),
                plan=plan,
                **plan_limits,
            )
            # The row first: a concurrent provisioning of the same slug waits on its unique key and
            # fails there, before touching the pool. The schema comes next, from a spare, the
            # template image or migrations (tenants.pool), in this same transaction.
            tenant.auto_create_schema = False
            try:
                tenant.save(verbosity=0)
            except ValidationError as exc:
                # django-tenants' own check of the schema name found a row that a concurrent
                # provisioning of this slug committed since free_schema_name() looked: the same
                # lost race as the unique key below, said as a field error like it.
                raise IntegrityError(exc.messages[0]) from exc
            tenant.schema_path = pool.create_tenant_schema(
                tenant.schema_name, lambda: pool.migrate_empty_schema(tenant.schema_name)
            )
            Domain.objects.create(
                domain=tenant.primary_host, tenant=tenant, is_primary=True, verified_at=timezone.now()
            )
            with tenant_context(tenant):
                create_first_owner = import_string(settings.TENANT_FIRST_OWNER_HOOK)
                owner = create_first_owner(owner_email, password=owner_password, full_name=owner_name)
    except (IntegrityError, ProgrammingError) as exc:
        # Lost a race with a concurrent provisioning of the same slug: its row, or its schema
        # (committed between our check and our rename or copy).
        if isinstance(exc, ProgrammingError) and not isinstance(exc.__cause__, DuplicateSchema):
            raise
        raise ValidationError({"slug": [f"The slug '{slug}' is already taken."]}) from exc
    logger.info(
        "provisioned tenant %s (schema %s, from %s)", tenant.slug, tenant.schema_name, tenant.schema_path
    )
    return ProvisionedTenant(tenant=tenant, owner=owner)


def suspend_tenant(tenant: Tenant, reason: str = "") -> Tenant:
    """Block every request to the tenant's hosts with the suspended page; data is kept."""
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_reason = reason[:255]
    tenant.save(update_fields=["status", "suspended_reason", "updated_at"])
    logger.info("suspended tenant %s: %s", tenant.slug, reason)
    return tenant


def reactivate_tenant(tenant: Tenant) -> Tenant:
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_reason = ""
    tenant.save(update_fields=["status", "suspended_reason", "updated_at"])
    logger.info("reactivated tenant %s", tenant.slug)
    return tenant


def query_each_schema(
    schemas, table: str, columns: str, tail: str = "", params=(), *, check_tables: bool = True
) -> list[tuple]:
    """One statement over many tenant schemas: ``SELECT <schema>, <columns> FROM <schema>.<table>
    <tail>`` for each schema that has ``table``, joined with UNION ALL; each row starts with its
    schema's name. ``params`` fill the placeholders of one ``tail``.

    With ``check_tables`` a catalog query first leaves out schemas without the table (a table of
    an app whose migration has not reached every schema yet), so a page never fails on one of
    them; a table of the first migrations is in every tenant's schema and needs no check. Plain
    SQL: PostgreSQL builds without libxml (the embedded server) have no query_to_xml.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        present = sorted(schemas)
        if check_tables and present:
            cursor.execute(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = %s AND n.nspname = ANY(%s)",
                [table, present],
            )
            present = sorted(name for (name,) in cursor.fetchall())
        if not present:
            return []
        sql = " UNION ALL ".join(
            f"(SELECT %s, {columns} FROM {quote(schema)}.{quote(table)} {tail})" for schema in present
        )
        cursor.execute(sql, [value for schema in present for value in (schema, *params)])
        return cursor.fetchall()


def attach_user_counts(tenants) -> list[Tenant]:
    """Set ``user_count`` on each tenant, counted in its own schema, with one statement."""
    tenants = list(tenants)
    counts = dict(
        query_each_schema([t.schema_name for t in tenants], "accounts_user", "count(*)", check_tables=False)
    )
    for tenant in tenants:
        tenant.user_count = counts.get(tenant.schema_name, 0)
    return tenants
