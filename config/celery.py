"""The Celery app, tenant-aware, with one task base for the whole project.

tenant-schemas-celery stamps the current schema into every message's headers when a task is sent
and switches the worker's connection to that schema before the task runs (and back after), so a
task enqueued in acme's context runs in acme's schema and one enqueued outside any tenant runs in
public. Its switch runs in a ``task_prerun`` signal handler, whose errors Celery only logs: for a
tenant deleted since the task was sent, the task would then run in the public schema.
``PlatformTask`` closes that gap: such a task is dropped, with a log line.

A tenant's task that starts while its schema migrates (``Tenant.held_until``, tenants.migrating)
is sent again TENANT_MIGRATE_RETRY_SECONDS later, as often as needed: deferred, never dropped, and
without spending one of the task's own retries. That costs one indexed query per tenant task: the
Tenant row tenant-schemas-celery caches may be up to CELERY_TASK_TENANT_CACHE_SECONDS old.
"""

import logging
import os

from celery.exceptions import Ignore
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections
from django.utils import timezone
from tenant_schemas_celery.app import CeleryApp, get_schema_name_from_task
from tenant_schemas_celery.task import TenantTask

from config import logs, quiet_tasks
from config.worker_heartbeat import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)


class PlatformTask(TenantTask):
    """Runs in the schema of the tenant that enqueued it, or not at all."""

    abstract = True

    def before_start(self, task_id, args, kwargs):
        schema = get_schema_name_from_task(self, kwargs)
        # Imported here: django_tenants.utils reads the settings at import, and config (so this
        # module) is imported by manage.py before the embedded servers have set DATABASE_URL.
        from django_tenants.utils import get_public_schema_name

        self._ensure_schema(task_id, schema)
        if schema and schema != get_public_schema_name():
            self._defer_if_held(task_id, schema)

    def _ensure_schema(self, task_id, schema):
        databases = [connections[alias] for alias in self.get_tenant_databases()]
        if not schema or all(db.schema_name == schema for db in databases):
            return
        # The prerun switch failed (its error is in the log). Try once more: a tenant that exists
        # gets its task; an error here (the database is down) fails the task, never runs it in public.
        from django_tenants.utils import get_tenant_model  # models are not loaded when this module is

        Tenant = get_tenant_model()
        try:
            tenant = self.get_tenant_for_schema(schema)
        except Tenant.DoesNotExist:
            logger.warning(
                "dropped task %s[%s]: no tenant has the schema %r any more", self.name, task_id, schema
            )
            raise Ignore() from None
        for db in databases:
            db.set_tenant(tenant, include_public=True)

    def _defer_if_held(self, task_id, schema):
        from django_tenants.utils import get_tenant_model

        held_until = (
            get_tenant_model().objects.filter(schema_name=schema).values_list("held_until", flat=True).first()
        )
        if held_until is None or held_until <= timezone.now():
            return
        # What retry() sends, without its count: the same id, arguments, queue and schema.
        self.signature_from_request(countdown=settings.TENANT_MIGRATE_RETRY_SECONDS).apply_async()
        logger.info("deferred task %s[%s]: the schema %r is migrating", self.name, task_id, schema)
        raise Ignore()


# The request id and the task's context on every line of the worker (config/logs.py); after
# tenant-schemas-celery's receivers, so a task's context is bound once its schema is set.
logs.connect_celery()

app = CeleryApp("config", task_cls=PlatformTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker tells /-/ready/ it is consuming (config/worker_heartbeat.py).
app.steps["consumer"].add(WorkerHeartbeat)
# Periodic jobs' routine "sent/received/succeeded" lines at DEBUG (config/quiet_tasks.py).
quiet_tasks.install()


@task_postrun.connect(dispatch_uid="platform_close_broken_connections")
def close_broken_connections(**kwargs):
    """With CELERY_DB_REUSE_MAX (settings) Celery keeps a task's database connection for the next
    ones; a connection that failed during this task (the database restarted) is checked and closed
    now, so the next task reconnects instead of failing on it too. No query when nothing failed."""
    for conn in connections.all(initialized_only=True):
        if conn.errors_occurred:
            conn.close_if_unusable_or_obsolete()
