"""Per-tenant fan-out: one task per active tenant, each running in that tenant's schema.

Beat's periodic entries run in the public schema; work that belongs to each tenant (the outbox
recovery, the projects digest) is handed on from there through ``for_each_active_tenant``, the one
way the platform does it. A task per tenant rather than one loop: a slow or broken schema delays
only itself, and each task runs in its schema through the same ``_schema_name`` header as any
other task (tenant-schemas-celery, config/celery.py).

Suspended and (soft-)deleted tenants are skipped: their work waits until they are reactivated or
restored (their queued emails among it, README "Email delivery"). A tenant purged after the fan-out
read the list leaves a task behind for a schema that is gone; the task base drops such tasks.

The function takes the task to run rather than importing it, so the tenancy core stays below the
apps that use it.
"""

import logging

from django_tenants.utils import get_public_schema_name

from tenants.models import Tenant

logger = logging.getLogger(__name__)


def active_tenant_schemas() -> list[str]:
    tenants = Tenant.objects.filter(status=Tenant.Status.ACTIVE).exclude(schema_name=get_public_schema_name())
    return list(tenants.order_by("schema_name").values_list("schema_name", flat=True))


def for_each_active_tenant(task, *args, **kwargs) -> int:
    """Enqueue ``task(*args, **kwargs)`` once per active tenant, in its schema. Returns how many."""
    schemas = active_tenant_schemas()
    for schema in schemas:
        task.apply_async(args, kwargs, headers={"_schema_name": schema})
    logger.debug("%s fanned out to %d tenants", task.name, len(schemas))
    return len(schemas)
