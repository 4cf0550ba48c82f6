"""A tenant is a client company: its own subdomain, its own PostgreSQL schema, its own users."""

import uuid
from functools import cached_property

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from tenants import host_cache
from tenants.slugs import validate_slug


class TenantQuerySet(models.QuerySet):
    """Updates that skip save() forget the cached lookups of the tenants' hosts too."""

    def update(self, **kwargs):
        pks = list(self.values_list("pk", flat=True))
        rows = super().update(**kwargs)
        _forget_tenants(pks)
        return rows

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        _forget_tenants([obj.pk for obj in objs])
        return rows


class Tenant(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        # Soft-deleted: its hosts answer 404, its data is kept until TENANT_DELETE_GRACE_DAYS have
        # passed since ``deleted_at``, and it can be restored until then.
        DELETED = "deleted", "Deleted (restorable)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(max_length=40, unique=True, validators=[validate_slug])
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    suspended_reason = models.CharField(max_length=255, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Per-tenant policy is data, not settings: plan limits, branding, sender identity.
    plan = models.CharField(max_length=32, default="free")
    # Plan limits: empty means no limit. The services that create users and projects, and write
    # data, enforce them.
    max_users = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    max_projects = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    max_storage_mb = models.PositiveIntegerField(
        null=True, blank=True, help_text="Size of the tenant's schema, in MB. Empty: no limit."
    )
    branding = models.JSONField(default=dict, blank=True, help_text='e.g. {"color": "#2b6cb0"}')
    email_from_name = models.CharField(max_length=100, blank=True)
    email_reply_to = models.EmailField(blank=True)
    # Set by the tenant's owners (tenant_apps.accounts): every user must sign in with a second
    # factor, and one without a device is sent to set one up before anything else.
    two_factor_required = models.BooleanField(default=False)
    # Set while ``migrate_tenants`` migrates this tenant's schema (tenants.migrating): its pages
    # answer 503 with Retry-After and its tasks wait, until the hold is released or this time passes
    # (a crashed run's holds lapse on their own).
    held_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Provisioning creates the schema inside its own transaction (tenants.services), and the
    # schema of a deleted tenant is dropped by the lifecycle service, never implicitly.
    auto_create_schema = True
    auto_drop_schema = False

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_held(self) -> bool:
        """Its schema is being migrated (tenants.migrating): serve nothing, run no task."""
        return self.held_until is not None and self.held_until > timezone.now()

    @property
    def primary_host(self) -> str:
        """The tenant's own subdomain, ``<slug>.<BASE_DOMAIN>``: it always routes to the tenant,
        whatever custom domain is primary, and it is the name the lifecycle creates, checks and
        renames. Links go to ``canonical_host``."""
        return f"{self.slug}.{settings.BASE_DOMAIN}"

    @cached_property
    def canonical_host(self) -> str:
        """The host links go to: the tenant's primary Domain when it is a verified custom domain
        (tenants.domains.set_primary_domain), else ``primary_host``. Routing fills it from the host
        cache; otherwise it costs one query per instance (none with ``domains`` prefetched)."""
        if self.pk is None:
            return self.primary_host
        if "domains" in getattr(self, "_prefetched_objects_cache", {}):
            hosts = [d.domain for d in self.domains.all() if d.is_primary and d.verified_at]
        else:
            hosts = Domain.objects.filter(
                tenant_id=self.pk, is_primary=True, verified_at__isnull=False
            ).values_list("domain", flat=True)[:1]
        return next(iter(hosts), None) or self.primary_host

    def url(self, path: str = "/") -> str:
        """Absolute URL on the tenant's canonical host, for links made outside a request."""
        port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
        return f"{settings.PUBLIC_SCHEME}://{self.canonical_host}{port}{path}"


class DomainQuerySet(models.QuerySet):
    """Writes that skip save() forget the cached lookups of the hosts they touch too: the old names
    (the host may no longer be served, or by another tenant) and the new ones (a host cached as
    unknown may be served now)."""

    def update(self, **kwargs):
        pks = list(self.values_list("pk", flat=True))
        before = _hosts_of_domains(pks)
        rows = super().update(**kwargs)
        host_cache.forget(before + _hosts_of_domains(pks))
        return rows

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        before = _hosts_of_domains([obj.pk for obj in objs])
        rows = super().bulk_update(objs, fields, batch_size=batch_size)
        host_cache.forget(before + [obj.domain for obj in objs])
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        host_cache.forget(obj.domain for obj in created)
        return created


class Domain(DomainMixin):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A custom domain routes only once verified (tenants serve the token at
    # /.well-known/tenant-domain/<token> on it, or in a DNS TXT record); a tenant's own subdomain
    # is verified when it is created.
    verification_token = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The last verification attempt of a pending domain and why it failed (tenants.domains).
    verification_checked_at = models.DateTimeField(null=True, blank=True)
    verification_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DomainQuerySet.as_manager()

    class Meta:
        ordering = ["domain"]

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


def _hosts_of_domains(pks) -> list[str]:
    return list(Domain.objects.filter(pk__in=pks).values_list("domain", flat=True))


def _forget_tenants(pks) -> None:
    host_cache.forget(Domain.objects.filter(tenant_id__in=pks).values_list("domain", flat=True))


# Saves and deletes, one row at a time or cascaded (a deleted tenant's domains), send signals.


@receiver(pre_save, sender=Domain)
def _remember_old_domain(sender, instance, **kwargs):
    if instance.pk:
        instance._old_domain = Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()


@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _forget_domain(sender, instance, **kwargs):
    # Every host of the tenant: each cached entry carries the tenant's canonical host, which a
    # change of this row (its primary flag, its deletion) may change.
    hosts = Domain.objects.filter(tenant_id=instance.tenant_id).values_list("domain", flat=True)
    host_cache.forget([instance.domain, getattr(instance, "_old_domain", None), *hosts])


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
def _forget_tenant(sender, instance, **kwargs):
    hosts = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    host_cache.forget([*hosts, instance.primary_host])


# --- The pool of ready schemas (tenants.pool) --------------------------------------------------


class SpareSchema(models.Model):
    """A migrated schema no tenant has yet; provisioning claims one and renames it."""

    schema_name = models.CharField(max_length=63, unique=True)
    # Hash of the spare's own django_migrations rows: only spares of the running code's migrations
    # are handed out.
    migration_state = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.schema_name


class SchemaImage(models.Model):
    """The SQL that recreates the migrated template schema (tables, constraints, indexes,
    sequences, data-migration rows) under another name; one per migration state."""

    migration_state = models.CharField(max_length=64, unique=True)
    sql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"template image {self.migration_state[:12]}"


# --- Renames, exports (tenants.services) ---------------------------------------------------------


class HostRedirect(models.Model):
    """A host a tenant was renamed away from: it answers 301 to the tenant's primary host until
    ``expires_at`` (TENANT_RENAME_REDIRECT_DAYS after the rename); then the name is free again."""

    hostname = models.CharField(max_length=253, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="host_redirects")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return f"{self.hostname} -> {self.tenant.slug}"


class TenantExport(models.Model):
    """An archive of one tenant's data (JSON per model and a manifest), built by a Celery job."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    class Via(models.TextChoices):
        OPERATOR = "operator", "Operator"
        OWNER = "owner", "Tenant owner"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.EmailField(max_length=254)
    requested_via = models.CharField(max_length=16, choices=Via.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file = models.CharField(max_length=255, blank=True, help_text="Path in the default storage.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"export of {self.tenant.slug} ({self.status})"


# --- Migrating every tenant's schema (tenants.migrating) -----------------------------------------


class MigrationRun(models.Model):
    """One ``migrate_tenants`` run: unfinished after a crash, until ``--resume`` completes it."""

    migration_state = models.CharField(max_length=64, help_text="What the run migrates every schema to.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"migration run {self.pk} ({'finished' if self.finished_at else 'unfinished'})"


class MigrationRunSchema(models.Model):
    """What a run did to one schema: the summary's line, and what ``--resume`` reports as done."""

    class Outcome(models.TextChoices):
        OK = "ok", "Migrated"
        FAILED = "failed", "Failed (rolled back)"

    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="schemas")
    schema_name = models.CharField(max_length=63)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    applied = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.schema_name}: {self.outcome}"
