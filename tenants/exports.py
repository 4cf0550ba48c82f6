"""Tenant data exports: one archive of a tenant's data, built by a Celery job, downloaded by the
operator or the tenant's owner.

The life of an export (``TenantExport``, a row in the public schema)::

    pending --claim--> running --done--> ready --TENANT_EXPORT_KEEP_DAYS--> expired (file deleted)
                          +--error--> failed (no file)

``request_export`` writes the row and enqueues ``tenants.build_export`` after commit, in the
tenant's schema (the ``_schema_name`` header, like every tenant task). ``build_export`` claims the
row with a conditional UPDATE (pending -> running), so a redelivered message or a second worker
does nothing twice, then writes a zip to the ``exports`` storage (settings.STORAGES, one for every
schema) at ``exports/<schema>/<id>.zip``:

- ``manifest.json``: the format and its version, the tenant's slug and name, when, and for every
  data file its model, row count, size and SHA-256; and what was left out by rule.
- ``data/<app_label>.<model>.json``: one JSON array per model of TENANT_APPS (their tables live
  in the tenant's schema; many-to-many tables are models of their own), each row an object of its
  columns by attribute name (``created_by_id``), in primary-key order. Plain values rather than
  Django's serializers: a flat row per table, no query per many-to-many relation, and rows are
  streamed from a server-side cursor into the zip, so memory stays flat whatever the size.

**No secrets.** ``TENANT_EXPORT_EXCLUDE`` (settings) lists, reviewed, the models left out whole
(sessions, API tokens, sign-in records) and the columns left out of the others (password hashes,
invitation token hashes, the outbox's secret values). A column whose name looks secret
(``looks_secret``) and that is neither excluded nor listed in ``TENANT_EXPORT_REVIEWED_SAFE`` stops
the export with an error rather than ship it: a new app's ``api_key`` is reviewed before it is
ever exported (tests/tenants/test_exports.py walks every field of every tenant model in CI).

**Only this tenant.** Every table is read in the tenant's own schema, and checked to exist there
first: with ``search_path = <tenant>, public``, a table missing from the tenant's schema would
otherwise be read from the public schema (the operators' accounts).

**The email.** When the archive is ready, ``TENANT_EXPORT_READY_HOOK`` (an app's function; the
tenancy core imports no app) is called in the tenant's schema with the export and the URL where
the requester downloads it (sign-in needed, no secret in it). It queues the email through the
tenant's outbox, so it is retried like every email. An operator's export is announced the same
way, to the operator's address, through the tenant's outbox: the tenant's owners and admins see in
their outbox that the platform exported their data (which they are entitled to know), and a
suspended tenant's email waits with its other emails until reactivation (the operator follows the
export in the API, the global admin or ``export_tenant --wait``).
"""

import hashlib
import io
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Callable
from datetime import timedelta

from celery import current_app
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.routers import TenantSyncRouter
from django_tenants.utils import tenant_context

from tenants.models import Tenant, TenantExport

logger = logging.getLogger(__name__)

Status = TenantExport.Status

BUILD_TASK = "tenants.build_export"
FORMAT = "tenant-export"
FORMAT_VERSION = 1
# Rows fetched per round trip from the server-side cursor, and between progress updates.
CHUNK_ROWS = 2000
# A name that may hold a credential or something derived from one. Wider than the admin's rule
# (tenants.admin_site): any type, and "key"/"session"/"hash" anywhere in the name.
_SECRET_NAME = re.compile(
    r"password|passwd|secret|token|digest|salt|hash|session|credential|private|otp|(^|_)key($|_)|api_?key",
    re.IGNORECASE,
)
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

Progress = Callable[[int, int], None]


class ExportError(Exception):
    """A reason the export stopped, written for the operator or owner who reads the row."""


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


# --- Asking for an export -------------------------------------------------------------------------


def request_export(tenant: Tenant, requested_by_email: str, via: str) -> TenantExport:
    """Create a pending export of ``tenant`` for ``requested_by_email`` and enqueue its job after
    commit. ``via`` is ``TenantExport.Via``. Raises ValidationError (``non_field_errors``) for a
    deleted tenant or one with an export already pending or running."""
    if via not in TenantExport.Via.values:
        raise ValueError(f"via must be one of {TenantExport.Via.values}, not {via!r}")
    with transaction.atomic():
        # The tenant's row lock serialises two requests for the same tenant: only one sees "none
        # running" and creates a row.
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if locked.status == Tenant.Status.DELETED:
            raise ValidationError("This tenant is deleted: its data cannot be exported.")
        if TenantExport.objects.filter(tenant=locked, status__in=[Status.PENDING, Status.RUNNING]).exists():
            raise ValidationError(
                "An export of this tenant is already under way; wait until it is ready or has failed."
            )
        export = TenantExport.objects.create(
            tenant=locked, requested_by=requested_by_email, requested_via=via
        )
        transaction.on_commit(lambda: enqueue_build(export.pk, locked.schema_name))
    logger.info(
        "export %s of %s requested by %s (%s)", export.public_id, tenant.slug, requested_by_email, via
    )
    return export


def enqueue_build(export_id: int, schema: str) -> bool:
    """Put the build on the broker, in the tenant's schema. Never raises for a broker that is down:
    the row stays pending and ``recover_stalled_exports`` enqueues it again."""
    try:
        current_app.send_task(
            BUILD_TASK,
            args=[export_id],
            headers={"_schema_name": schema},
            retry=True,
            retry_policy=ENQUEUE_RETRY_POLICY,
        )
    except Exception:
        logger.exception("could not enqueue export %s; the recovery job will", export_id)
        return False
    return True


def exports_of(tenant: Tenant):
    """The tenant's exports, newest first: what any door lists for one tenant."""
    return TenantExport.objects.filter(tenant=tenant).select_related("tenant").order_by("-created_at", "-pk")


def get_export(tenant: Tenant, public_id) -> TenantExport:
    """The export ``public_id`` of ``tenant``, or TenantExport.DoesNotExist: another tenant's id
    answers like an id that does not exist."""
    return exports_of(tenant).get(public_id=public_id)


def open_archive(export: TenantExport):
    """The ready archive, opened for reading, or TenantExport.DoesNotExist when there is none (not
    ready, expired, or its file gone)."""
    if export.status != Status.READY or not export.file:
        raise TenantExport.DoesNotExist("the export is not ready")
    try:
        return _storage().open(export.file, "rb")
    except FileNotFoundError:
        raise TenantExport.DoesNotExist("the archive is gone") from None


def archive_name(export: TenantExport) -> str:
    return f"{export.tenant.slug}-export-{export.created_at:%Y%m%d-%H%M%S}.zip"


def operator_download_url(export: TenantExport) -> str:
    """The export's page in the global admin (operators sign in there), with its download link."""
    path = reverse("admin:tenants_tenantexport_change", args=[export.pk], urlconf="config.urls_public")
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"


# --- What goes in -----------------------------------------------------------------------------------


def _excluded() -> dict[str, object]:
    return {label.lower(): rule for label, rule in settings.TENANT_EXPORT_EXCLUDE.items()}


def tenant_models() -> list:
    """Every model whose table lives in a tenant's schema (TENANT_APPS), many-to-many tables
    included, in a stable order."""
    router = TenantSyncRouter()
    found = [
        model
        for model in apps.get_models(include_auto_created=True)
        if router.app_in_list(model._meta.app_label, settings.TENANT_APPS)
        and model._meta.managed
        and not model._meta.proxy
    ]
    return sorted(found, key=lambda model: model._meta.label_lower)


def exported_fields(model) -> list | None:
    """The concrete fields of ``model`` that go in the archive, or None for a model left out whole.
    Raises ImproperlyConfigured for a secret-looking column that nobody reviewed."""
    rule = _excluded().get(model._meta.label_lower)
    if rule == "__all__":
        return None
    left_out = set(rule or ())
    safe = {name.lower() for name in settings.TENANT_EXPORT_REVIEWED_SAFE}
    fields = []
    for field in model._meta.concrete_fields:
        if field.name in left_out:
            continue
        if looks_secret(field.name) and f"{model._meta.label_lower}.{field.name}" not in safe:
            raise ImproperlyConfigured(
                f"{model._meta.label}.{field.name} looks secret and is not reviewed: list it in "
                "TENANT_EXPORT_EXCLUDE or TENANT_EXPORT_REVIEWED_SAFE."
            )
        fields.append(field)
    return fields


def export_plan() -> list[tuple[object, list]]:
    """(model, fields) for every model that goes in the archive."""
    plan = []
    for model in tenant_models():
        fields = exported_fields(model)
        if fields is not None:
            plan.append((model, fields))
    return plan


# --- Building -------------------------------------------------------------------------------------


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, (bytes, memoryview)):
            return bytes(o).hex()
        return super().default(o)


class _HashingWriter(io.RawIOBase):
    """Writes through to a zip member, counting and hashing the bytes on the way."""

    def __init__(self, target):
        self.target, self.sha256, self.size = target, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


def _check_tables_in_schema(schema: str, plan) -> None:
    tables = sorted({model._meta.db_table for model, _ in plan})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s)",
            [schema, tables],
        )
        present = {name for (name,) in cursor.fetchall()}
    if missing := [table for table in tables if table not in present]:
        raise ExportError(f"The tenant's schema has no table {', '.join(missing)}: migrate it first.")


def _claim(export_id: int) -> bool:
    return bool(
        TenantExport.objects.filter(pk=export_id, status=Status.PENDING).update(
            status=Status.RUNNING, started_at=timezone.now(), progress=0
        )
    )


def _set_progress(export_id: int, percent: int) -> None:
    TenantExport.objects.filter(pk=export_id, status=Status.RUNNING).update(progress=percent)


def build_export(export_id: int, progress: Progress | None = None) -> TenantExport | None:
    """Build the archive of the pending export ``export_id`` (see the module's docstring). Returns
    the export, or None when it was not pending (claimed by another run, or gone). Never raises
    for a failed build: the row is marked failed with a reason, and no file is left behind.

    ``progress(rows_done, rows_total)`` is called as rows are written, and once more when the
    archive is stored; the row's ``progress`` (percent) follows, for the other doors to show.
    Runs in the tenant's schema whatever schema the caller is in."""
    if not _claim(export_id):
        logger.info("export %s is not pending: nothing to do", export_id)
        return None
    export = TenantExport.objects.select_related("tenant").get(pk=export_id)
    stored = ""
    try:
        with tenant_context(export.tenant):
            with tempfile.TemporaryFile(prefix="tenant-export-") as archive:
                _write_archive(export, archive, progress)
                archive.seek(0)
                stored = _storage().save(_path_of(export), File(archive, name="export.zip"))
        size = _storage().size(stored)
        if progress is not None:
            progress(1, 1)
        now = timezone.now()
        done = TenantExport.objects.filter(pk=export_id, status=Status.RUNNING).update(
            status=Status.READY,
            progress=100,
            file=stored,
            size_bytes=size,
            finished_at=now,
            expires_at=now + timedelta(days=settings.TENANT_EXPORT_KEEP_DAYS),
            error="",
        )
        if not done:
            raise ExportError("The export was marked failed while it ran.")
    except Exception as exc:
        _fail(export, exc, stored)
        export.refresh_from_db()
        return export
    export.refresh_from_db()
    logger.info("export %s of %s ready (%d bytes)", export.public_id, export.tenant.slug, size)
    _announce(export)
    return export


def _storage():
    """Where archives live: the "exports" storage, one for every schema (the path names the
    tenant's schema), not the default storage, whose folder depends on the current schema and
    would hide an archive built in the tenant's schema from the operator's doors (public)."""
    return storages["exports"]


def _path_of(export: TenantExport) -> str:
    return f"exports/{export.tenant.schema_name}/{export.public_id}.zip"


def _fail(export: TenantExport, exc: Exception, stored: str) -> None:
    logger.exception("export %s of %s failed", export.public_id, export.tenant.slug)
    if stored:
        _storage().delete(stored)
    # Our own reasons are written for the reader; any other error is named, not quoted (its text
    # may hold data), and the worker's log has it whole.
    reason = str(exc) if isinstance(exc, (ExportError, ImproperlyConfigured)) else type(exc).__name__
    TenantExport.objects.filter(pk=export.pk).update(
        status=Status.FAILED,
        file="",
        finished_at=timezone.now(),
        error=f"The export failed: {reason}"[:255],
    )


def _write_archive(export: TenantExport, archive, progress: Progress | None) -> None:
    plan = export_plan()
    _check_tables_in_schema(export.tenant.schema_name, plan)
    totals = {model: model._base_manager.count() for model, _ in plan}
    total = sum(totals.values()) or 1
    done = last_percent = 0
    files = []
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for model, fields in plan:
            name = f"data/{model._meta.label_lower}.json"
            rows = 0
            with zf.open(name, "w", force_zip64=True) as member:
                out = _HashingWriter(member)
                out.write(b"[")
                attnames = [field.attname for field in fields]
                values = model._base_manager.order_by("pk").values_list(*attnames)
                for row in values.iterator(chunk_size=CHUNK_ROWS):
                    record = json.dumps(
                        dict(zip(attnames, row, strict=True)), cls=_Encoder, ensure_ascii=False
                    )
                    out.write((",\n" if rows else "\n").encode() + record.encode())
                    rows += 1
                    done += 1
                    if done % CHUNK_ROWS == 0:
                        last_percent = _report(export.pk, done, total, last_percent, progress)
                out.write(b"\n]\n")
            files.append(
                {
                    "name": name,
                    "model": model._meta.label,
                    "rows": rows,
                    "bytes": out.size,
                    "sha256": out.sha256.hexdigest(),
                }
            )
            last_percent = _report(export.pk, done, total, last_percent, progress)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "export_id": str(export.public_id),
            "tenant": {"slug": export.tenant.slug, "name": export.tenant.name},
            "created_at": timezone.now().isoformat(),
            "files": files,
            "left_out": {
                label: rule if rule == "__all__" else sorted(rule)
                for label, rule in sorted(settings.TENANT_EXPORT_EXCLUDE.items())
            },
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))


def _report(export_id: int, done: int, total: int, last_percent: int, progress: Progress | None) -> int:
    if progress is not None:
        progress(done, total)
    # Up to 99: the last percent is storing the archive.
    percent = min(99, done * 100 // total)
    if percent != last_percent:
        _set_progress(export_id, percent)
    return percent


def _announce(export: TenantExport) -> None:
    """Tell the requester the archive is ready, through the app named by the hook. A failure here
    never undoes the export: it is logged, and the archive is downloadable all the same."""
    hook = getattr(settings, "TENANT_EXPORT_READY_HOOK", "")
    if not hook:
        return
    try:
        with tenant_context(export.tenant):
            import_string(hook)(export)
    except Exception:
        logger.exception("could not announce export %s", export.public_id)


# --- Expiry and recovery (beat) -------------------------------------------------------------------


def expire_exports(now=None) -> int:
    """Delete the archives of ready exports past ``expires_at`` and mark them expired. Returns how
    many. The row is marked first: a download racing the deletion finds the export expired."""
    now = now or timezone.now()
    count = 0
    for export in TenantExport.objects.filter(status=Status.READY, expires_at__lte=now):
        if TenantExport.objects.filter(pk=export.pk, status=Status.READY).update(
            status=Status.EXPIRED, file=""
        ):
            if export.file:
                _storage().delete(export.file)
            count += 1
    if count:
        logger.info("expired %d exports", count)
    return count


def recover_stalled_exports(now=None) -> tuple[int, int]:
    """Enqueue again the pending exports whose job never ran (the broker was down at commit), and
    mark failed the running ones older than the build's hard time limit (their worker died: a live
    one would have been stopped by then). Returns (re-enqueued, failed)."""
    now = now or timezone.now()
    pending = TenantExport.objects.filter(
        status=Status.PENDING,
        created_at__lte=now - timedelta(seconds=settings.TENANT_EXPORT_PENDING_GRACE_SECONDS),
    ).select_related("tenant")
    enqueued = sum(enqueue_build(export.pk, export.tenant.schema_name) for export in pending)
    cutoff = now - timedelta(seconds=settings.TENANT_EXPORT_TIME_LIMIT + 60)
    failed = TenantExport.objects.filter(status=Status.RUNNING, started_at__lte=cutoff).update(
        status=Status.FAILED, finished_at=now, error="The export was interrupted (its worker stopped)."
    )
    return enqueued, failed


@receiver(post_delete, sender=TenantExport)
def _delete_archive(sender, instance, **kwargs):
    # A tenant's deletion cascades to its exports: their archives go with them, once committed.
    if instance.file:
        path = instance.file
        transaction.on_commit(lambda: _storage().delete(path))
