"""Celery tasks of the outbox. Each takes ids, re-reads rows, and runs in the schema of the tenant
that enqueued it (config/celery.py: tenant-schemas-celery)."""

import logging

from django.db import connection
from django_tenants.utils import get_public_schema_name

from config.celery import app
from tenant_apps.outbox import sending, services

logger = logging.getLogger(__name__)


@app.task(name="outbox.send_message", acks_late=True, ignore_result=True)
def send_message(message_id: int) -> str:
    """Send one outbox row. Safe to run twice: the claim lets only one run submit it."""
    return sending.deliver_message(message_id)


@app.task(name="outbox.recover_stalled", ignore_result=True)
def recover_stalled() -> dict:
    """In one tenant's schema: re-enqueue rows queued too long, re-queue rows stuck in sending."""
    return services.recover_stalled()


@app.task(name="outbox.recover_all_tenants", ignore_result=True)
def recover_all_tenants() -> int:
    """Beat's entry point, in the public schema: one ``recover_stalled`` per active tenant.

    A task per tenant rather than one loop: a slow or broken schema delays only itself, and each
    runs in its own schema through the same header as any other task.
    """
    from tenants.models import Tenant

    schemas = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE)
                   .exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True))
    for schema in schemas:
        recover_stalled.apply_async(headers={"_schema_name": schema})
    logger.debug("outbox recovery fanned out to %d tenants from %s", len(schemas), connection.schema_name)
    return len(schemas)
