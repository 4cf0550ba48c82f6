"""Celery tasks of the outbox. Each takes ids, re-reads rows, and runs in the schema of the tenant
that enqueued it (config/celery.py: tenant-schemas-celery)."""

from tenant_schemas_celery.app import get_schema_name_from_task

from config.celery import app
from tenant_apps.outbox import drain_marks, sending, services
from tenants.fanout import for_each_active_tenant


@app.task(name=services.SEND_TASK, acks_late=True, ignore_result=True)
def send_message(message_id: int) -> str:
    """Send one outbox row (a retry after its backoff; transactional rows are otherwise sent by
    ``send_queued``). Safe to run twice: the claim lets only one run submit it."""
    return sending.deliver_message(message_id)


class DrainTask(app.Task):
    """A drain that fails, even before its body (its schema switch or hold check on a dead
    connection), deletes its schema's mark: else the emails committed next would count on it
    until the mark expires."""

    abstract = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        if schema := get_schema_name_from_task(self, kwargs):
            drain_marks.release(schema)


@app.task(base=DrainTask, name=services.SEND_QUEUED_TASK, acks_late=True, ignore_result=True)
def send_queued() -> dict:
    """Drain the schema's due transactional rows, in batches (``sending.deliver_due``). Safe to
    run twice at once: the claims take disjoint rows."""
    return sending.deliver_due()


@app.task(name=services.SEND_BULK_TASK, acks_late=True, ignore_result=True)
def send_bulk_message(message_id: int, reserved: bool = False) -> str:
    """Send one bulk row at its tenant's pace (``sending.deliver_bulk_message``)."""
    return sending.deliver_bulk_message(message_id, reserved=reserved)


@app.task(name="outbox.recover_stalled", ignore_result=True)
def recover_stalled() -> dict:
    """In one tenant's schema: re-enqueue rows queued too long, re-queue rows stuck in sending."""
    return services.recover_stalled()


@app.task(name="outbox.recover_all_tenants", ignore_result=True)
def recover_all_tenants() -> int:
    """Beat's entry point, in the public schema: one ``recover_stalled`` per active tenant, and the
    public schema's own outbox (the platform's emails) recovered right here. Returns how many
    tenants it fanned out to."""
    services.recover_stalled()
    return for_each_active_tenant(recover_stalled)


@app.task(name="outbox.release_queued", ignore_result=True)
def release_queued() -> int:
    """In one tenant's schema, once it is reactivated: send what waited while it was suspended."""
    return services.release_queued()
