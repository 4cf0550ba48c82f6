"""Tenant lifecycle: the one place that provisions, suspends, reactivates and deletes tenants.

The management commands, the global admin and the operator API all call these functions, so the
rules (validation, all-or-nothing creation, cache invalidation) hold whichever door is used.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_exists, tenant_context

from tenants.models import Domain, Tenant
from tenants.slugs import schema_name_for, validate_slug

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant: Tenant
    owner: object
    set_password_url: str


def check_new_tenant(slug: str, name: str, owner_email: str) -> None:
    """Raise ValidationError keyed by field for anything that would stop provisioning."""
    errors: dict[str, list[str]] = {}
    try:
        validate_slug(slug)
    except ValidationError as exc:
        errors["slug"] = exc.messages
    else:
        host = f"{slug}.{settings.BASE_DOMAIN}"
        taken = (
            Tenant.objects.filter(slug=slug).exists()
            or Domain.objects.filter(domain=host).exists()
            or schema_exists(schema_name_for(slug))
        )
        if taken:
            errors["slug"] = [f"The slug '{slug}' is already taken."]
    name = (name or "").strip()
    if not name:
        errors["name"] = ["A name is required."]
    elif len(name) > Tenant._meta.get_field("name").max_length:
        errors["name"] = ["A name is at most 100 characters long."]
    try:
        validate_email(owner_email or "")
    except ValidationError:
        errors["owner_email"] = ["Enter a valid email address for the owner."]
    if errors:
        raise ValidationError(errors)


def provision_tenant(slug: str, name: str, owner_email: str, *, owner_password: str | None = None,
                     owner_name: str = "", plan: str = "free") -> ProvisionedTenant:
    """Create a tenant, its schema (migrated), its primary domain and its owner, all or nothing.

    Everything runs in one transaction: PostgreSQL's DDL is transactional, so a failure at any
    step (schema, migrations, domain, owner) rolls back the schema and the rows together.
    Raises ValidationError (keyed by field) for bad or taken input.
    """
    check_new_tenant(slug, name, owner_email)
    try:
        with transaction.atomic():
            tenant = Tenant(schema_name=schema_name_for(slug), slug=slug, name=name.strip(), plan=plan)
            tenant.save(verbosity=0)
            Domain.objects.create(domain=tenant.primary_host, tenant=tenant, is_primary=True)
            with tenant_context(tenant):
                owner = get_user_model().objects.create_superuser(
                    owner_email, owner_password, full_name=owner_name
                )
                link = set_password_url(tenant, owner)
    except IntegrityError as exc:
        # Lost a race with a concurrent provisioning of the same slug.
        raise ValidationError({"slug": [f"The slug '{slug}' is already taken."]}) from exc
    logger.info("provisioned tenant %s (schema %s)", tenant.slug, tenant.schema_name)
    return ProvisionedTenant(tenant=tenant, owner=owner, set_password_url=link)


def set_password_url(tenant: Tenant, user) -> str:
    """A one-time link on the tenant's domain to choose a password. It stops working once the
    password changes (the token hashes the password) or after PASSWORD_RESET_TIMEOUT."""
    path = reverse(
        "password_reset_confirm",
        urlconf="config.urls_tenant",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user)},
    )
    return tenant.url(path)


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


def delete_tenant(tenant: Tenant) -> None:
    """Drop the tenant's schema and delete its rows (domains cascade), in one transaction."""
    slug = tenant.slug
    with transaction.atomic():
        # Deferred foreign-key checks still pending in this transaction (rows written earlier in
        # it) would make PostgreSQL refuse the DROP; running them now lets the drop proceed.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        tenant.delete(force_drop=True)
    logger.info("deleted tenant %s", slug)


def with_user_counts(queryset):
    """Annotate ``user_count`` from each tenant's own schema in the same single query.

    query_to_xml runs a statement built per row, which is how one SELECT can count rows in as
    many schemas as there are tenants (format's %I quotes the schema name).
    """
    return queryset.annotate(
        user_count=RawSQL(
            "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %%I.accounts_user', "
            "tenants_tenant.schema_name), false, true, '')))[1]::text::integer",
            [],
            output_field=IntegerField(),
        )
    )
