"""A tenant's later life: soft delete, restore, purge, and renaming its subdomain.

``tenants.services`` re-exports every function here: it stays the one entry point of the lifecycle
for the CLI, the global admin and the operator API. This module imports nothing of services (the
tenancy core has no import cycles); services builds on the slug checks defined here.

- **Delete** is soft: the tenant's status becomes DELETED, its hosts answer 404 like an unknown
  host, its periodic jobs and queued emails wait (both only serve ACTIVE tenants:
  tenants.fanout, the outbox's ``sending_refused``), and its schema and rows stay.
- **Restore** brings a deleted tenant back, with its data, within ``TENANT_DELETE_GRACE_DAYS`` of
  its deletion, in the state it was deleted in: ACTIVE, or SUSPENDED if it was suspended (the
  suspension's reason is kept through the deletion, and a suspension without one is recorded as
  "Suspended before deletion." so that it is not lost).
- **Purge** is the hard drop (schema, rows, domains, redirects), only of a deleted tenant. The beat
  job ``tenants.purge_deleted`` purges tenants past their grace period and forgets expired redirects.
- **Rename** changes the slug and the subdomain; the old host answers a redirect to the new one
  for ``TENANT_RENAME_REDIRECT_DAYS``, then the name is free again. The schema keeps its name.
"""

import logging
import secrets
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants import host_cache, host_redirects
from tenants.models import Domain, HostRedirect, Tenant
from tenants.slugs import schema_name_for, validate_slug

logger = logging.getLogger(__name__)

SUSPENDED_BEFORE_DELETION = "Suspended before deletion."


class LifecycleRefused(Exception):
    """The tenant is not in a state that allows this step (restore a tenant that is not deleted,
    purge one that is not, rename a deleted one...). The message says why, for a person."""


# --- Names ---------------------------------------------------------------------------------------


def host_for(slug: str) -> str:
    return Tenant(slug=slug).primary_host


def slug_problems(slug: str, *, renaming: Tenant | None = None, now: datetime | None = None) -> list[str]:
    """Why ``slug`` cannot name a new tenant (or ``renaming``'s new name): its format, a reserved
    name, or a taken one. Taken: another tenant's slug or domain, or an unexpired redirect of
    another tenant's old host (that host still answers for it). A schema of the same name does
    not take a slug: schema names are internal (``free_schema_name``)."""
    try:
        validate_slug(slug)
    except ValidationError as exc:
        return exc.messages
    now = now or timezone.now()
    host = host_for(slug)
    tenants = Tenant.objects.all()
    domains = Domain.objects.filter(domain=host)
    redirects = HostRedirect.objects.filter(hostname=host, expires_at__gt=now)
    if renaming is not None:
        if slug == renaming.slug:
            return [f"'{slug}' is already this tenant's slug."]
        tenants = tenants.exclude(pk=renaming.pk)
        domains = domains.exclude(tenant_id=renaming.pk)
        redirects = redirects.exclude(tenant_id=renaming.pk)
    if tenants.filter(slug=slug).exists() or domains.exists() or redirects.exists():
        return [f"The slug '{slug}' is already taken."]
    return []


def free_schema_name(slug: str) -> str:
    """A schema name for a new tenant of ``slug``: its slug with underscores, or, when a renamed
    tenant (or anything else) holds that name, the same with a short random suffix."""
    base = schema_name_for(slug)
    name = base
    while schema_exists(name) or Tenant.objects.filter(schema_name=name).exists():
        name = f"{base}_{secrets.token_hex(3)}"
    return name


# --- Delete, restore, purge ------------------------------------------------------------------------


def grace_period() -> timedelta:
    return timedelta(days=settings.TENANT_DELETE_GRACE_DAYS)


def purge_after(tenant: Tenant) -> datetime | None:
    """When a deleted tenant's data goes for good (the beat job's next run after it); None if not
    deleted."""
    if tenant.status != Tenant.Status.DELETED or tenant.deleted_at is None:
        return None
    return tenant.deleted_at + grace_period()


def delete_tenant(tenant: Tenant) -> Tenant:
    """Soft-delete: its hosts answer 404 at once, its data stays until the grace period ends.
    Deleting a deleted tenant changes nothing (its grace period is not extended)."""
    if tenant.status == Tenant.Status.DELETED:
        return tenant
    update = {"status": Tenant.Status.DELETED, "deleted_at": timezone.now(), "updated_at": timezone.now()}
    if tenant.status == Tenant.Status.SUSPENDED and not tenant.suspended_reason:
        update["suspended_reason"] = SUSPENDED_BEFORE_DELETION
    # Conditional: of two concurrent deletes, the first sets deleted_at and the second changes nothing.
    Tenant.objects.filter(pk=tenant.pk).exclude(status=Tenant.Status.DELETED).update(**update)
    tenant.refresh_from_db()
    _forget_redirects_of(tenant)
    logger.info("deleted tenant %s (restorable until %s)", tenant.slug, purge_after(tenant))
    return tenant


def restore_tenant(tenant: Tenant, now: datetime | None = None) -> Tenant:
    """Bring a deleted tenant back, its data untouched, in the state it was deleted in (ACTIVE, or
    SUSPENDED when it has a suspension reason). Raises LifecycleRefused when it is not deleted or
    its grace period is over."""
    now = now or timezone.now()
    tenant.refresh_from_db()
    if tenant.status != Tenant.Status.DELETED:
        raise LifecycleRefused(f"Tenant {tenant.slug} is not deleted.")
    back_to = Tenant.Status.SUSPENDED if tenant.suspended_reason else Tenant.Status.ACTIVE
    # Conditional on the state read, and it waits for a purge that holds the row: a tenant purged
    # meanwhile has no row left, and nothing is restored.
    restored = Tenant.objects.filter(
        pk=tenant.pk, status=Tenant.Status.DELETED, deleted_at__gt=now - grace_period()
    ).update(status=back_to, deleted_at=None, updated_at=now)
    if not restored:
        raise LifecycleRefused(
            f"Tenant {tenant.slug} was deleted more than {settings.TENANT_DELETE_GRACE_DAYS} days ago: "
            "its data is purged or about to be."
        )
    tenant.refresh_from_db()
    _forget_redirects_of(tenant)
    logger.info("restored tenant %s (%s)", tenant.slug, tenant.status)
    return tenant


def purge_tenant(tenant: Tenant) -> str:
    """Drop a deleted tenant's schema and delete its rows (domains, redirects and exports cascade),
    in one transaction. Irreversible. Returns the slug. Raises LifecycleRefused when the tenant is
    not deleted (delete it first: the CLI's ``delete_tenant --purge`` does both)."""
    slug = tenant.slug
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        if locked is None or locked.status != Tenant.Status.DELETED:
            raise LifecycleRefused(f"Tenant {slug} is not deleted: only a deleted tenant is purged.")
        if locked.schema_name == get_public_schema_name():
            raise LifecycleRefused("The public schema is never dropped.")
        hosts = list(locked.host_redirects.values_list("hostname", flat=True))
        # Deferred foreign-key checks still pending in this transaction (rows written earlier in
        # it) would make PostgreSQL refuse the DROP; running them now lets the drop proceed.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        locked.delete(force_drop=True)
        host_redirects.forget(hosts)
        schema = locked.schema_name
        transaction.on_commit(lambda: _delete_files_of(schema))
    logger.info("purged tenant %s (schema %s dropped)", slug, tenant.schema_name)
    return slug


def _delete_files_of(schema: str) -> None:
    """Delete the default storage's folder of a dropped schema (MEDIA_ROOT/tenants/<schema>/): a
    later tenant given the same schema name must not find the old one's files."""
    with schema_context(schema):
        location = getattr(default_storage, "location", None)
    # Only a folder of this schema's own: a default storage that is not per tenant has none.
    if location and Path(location).name == schema:
        shutil.rmtree(location, ignore_errors=True)


def purge_deleted_tenants(now: datetime | None = None) -> list[str]:
    """The beat job: purge every tenant deleted more than TENANT_DELETE_GRACE_DAYS ago, each in its
    own transaction (one failure is logged and the others still go), and delete expired redirects
    (freeing their names). Idempotent. Returns the slugs purged."""
    now = now or timezone.now()
    due = Tenant.objects.filter(status=Tenant.Status.DELETED, deleted_at__lte=now - grace_period())
    purged = []
    for tenant in due.order_by("deleted_at"):
        try:
            purged.append(purge_tenant(tenant))
        except Exception:
            logger.exception("could not purge tenant %s; the next run tries again", tenant.slug)
    delete_expired_redirects(now)
    return purged


# --- Rename ------------------------------------------------------------------------------------


def redirect_days() -> timedelta:
    return timedelta(days=settings.TENANT_RENAME_REDIRECT_DAYS)


def rename_tenant(tenant: Tenant, new_slug: str, now: datetime | None = None) -> Tenant:
    """Give the tenant a new slug and subdomain; its old host redirects to the new one for
    TENANT_RENAME_REDIRECT_DAYS. Raises ValidationError ({"slug": [...]}) for a bad, reserved or
    taken slug, LifecycleRefused for a deleted tenant.

    The slug is checked like a new tenant's, except that a name this tenant left earlier (its own
    unexpired redirect) may be taken back: that redirect is then removed. The slug, the subdomain's
    Domain row and the redirect change in one transaction.

    The schema keeps its name: it is internal, and queued tasks carry it (the ``_schema_name``
    header of every task, tenants.fanout), as do the outbox's rows and the host cache's entries;
    renaming the schema would strand what is in flight. ``free_schema_name`` lets a new tenant take
    the old slug anyway once the redirect has expired.
    """
    now = now or timezone.now()
    new_slug = new_slug if isinstance(new_slug, str) else ""
    try:
        with transaction.atomic():
            tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
            if tenant.status == Tenant.Status.DELETED:
                raise LifecycleRefused(f"Tenant {tenant.slug} is deleted: restore it before renaming it.")
            problems = slug_problems(new_slug, renaming=tenant, now=now)
            if problems:
                raise ValidationError({"slug": problems})
            old_host, new_host = tenant.primary_host, host_for(new_slug)
            tenant.slug = new_slug
            tenant.save(update_fields=["slug", "updated_at"])
            Domain.objects.filter(tenant=tenant, domain=old_host).update(domain=new_host)
            # Taking back a name it left: that redirect would point the host at itself.
            HostRedirect.objects.filter(tenant=tenant, hostname=new_host).delete()
            # A row left for this host by another tenant is expired (else the host was not free when
            # this tenant took it) and waits for the beat job: replaced.
            HostRedirect.objects.update_or_create(
                hostname=old_host, defaults={"tenant": tenant, "expires_at": now + redirect_days()}
            )
    except IntegrityError as exc:
        # A concurrent provisioning or rename took the name between our check and our write.
        raise ValidationError({"slug": [f"The slug '{new_slug}' is already taken."]}) from exc
    host_cache.forget([old_host, new_host])
    _forget_redirects_of(tenant, also=[old_host, new_host])
    logger.info("renamed tenant %s to %s (redirect until %s)", old_host, new_host, now + redirect_days())
    return tenant


def delete_expired_redirects(now: datetime | None = None) -> list[str]:
    """Delete redirects past their ``expires_at``: their names are free again. Returns the hosts."""
    now = now or timezone.now()
    expired = HostRedirect.objects.filter(expires_at__lte=now)
    hosts = list(expired.values_list("hostname", flat=True))
    expired.delete()
    host_redirects.forget(hosts)
    return hosts


def _forget_redirects_of(tenant: Tenant, also=()) -> None:
    hosts = list(HostRedirect.objects.filter(tenant_id=tenant.pk).values_list("hostname", flat=True))
    host_redirects.forget([*hosts, *also])
