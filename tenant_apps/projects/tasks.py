"""Periodic project work: the daily digest of tasks due soon, for every active tenant."""

import datetime

from config.celery import app
from tenant_apps.projects import services
from tenants.fanout import for_each_active_tenant


@app.task(name="projects.send_due_digests")
def send_due_digests() -> int:
    """Beat's entry point, in the public schema: one digest task per active tenant, in its schema."""
    return for_each_active_tenant(send_tenant_due_digest)


@app.task(name="projects.send_tenant_due_digest", acks_late=True)
def send_tenant_due_digest(day: str | None = None) -> int:
    """In one tenant's schema: queue its users' digests (``services.queue_due_digests``)."""
    return services.queue_due_digests(datetime.date.fromisoformat(day) if day else None)
