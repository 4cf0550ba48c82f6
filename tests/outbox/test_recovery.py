"""What the delivery guarantee rests on: nothing is lost when the broker is down at enqueue time,
and a worker that dies after the provider accepted an email leads to one resubmission with the
same de-duplication key (README.md, "Email delivery")."""

import signal
import socket
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from config.celery import app
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import enqueue_send, queue_email
from tenant_apps.outbox.tasks import recover_all_tenants
from tests.outbox.fake_postmark import kill
from tests.outbox.rows import row, wait_for_status
from tests.worker import publishing_to

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxMessage.Status


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def _reset_producer_pools():
    # The app caches its producer connection pool per broker URL; drop the cache so the next
    # publish connects to whatever broker_write_url now says.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_down():
    """Producers point at a closed port; the worker keeps its own, live, consumer connection."""
    app.conf.update(broker_write_url=f"redis://127.0.0.1:{closed_port()}/4")
    _reset_producer_pools()
    try:
        yield
    finally:
        app.conf.update(broker_write_url=None)
        _reset_producer_pools()


def queue_hello(tenant):
    with tenant_context(tenant):
        return queue_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})


def test_the_beat_schedule_runs_the_recovery_fan_out():
    entry = django_settings.CELERY_BEAT_SCHEDULE["outbox-recover-stalled"]
    assert entry["task"] == "outbox.recover_all_tenants"
    assert entry["task"] in app.tasks


def backdate(public_id, **fields_seconds_ago):
    """Move timestamps of the row into the past: what the recovery sees once that time has passed
    (the worker's OUTBOX_* timeouts are its own settings, which this process cannot shorten)."""
    now = timezone.now()
    with schema_context("acme"):
        OutboxMessage.objects.filter(public_id=public_id).update(
            **{field: now - timedelta(seconds=seconds) for field, seconds in fields_seconds_ago.items()}
        )


def recover_and_wait(worker):
    """Beat's job on the worker: the fan-out task, then each tenant's recovery it enqueued."""
    recover_all_tenants.delay()
    worker.ping()  # the fan-out has run, so each tenant's recover_stalled is on the queue...
    worker.ping()  # ...and has run


def test_an_email_queued_while_the_broker_is_down_is_sent_after_the_recovery_job(
    outbox, outbox_worker, tenant
):
    with broker_down():
        started = time.monotonic()
        message = queue_hello(tenant)
        elapsed = time.monotonic() - started

    assert elapsed < 5, "a broker that is down must not hang the request"
    outbox_worker.ping()  # anything that had reached the queue has run by now
    assert row("acme", message.public_id).status == Status.QUEUED
    assert outbox.submissions == []

    # Beat's job, once the broker is back: rows queued longer than the grace period go again.
    backdate(message.public_id, next_attempt_at=django_settings.OUTBOX_QUEUED_GRACE_SECONDS + 1)
    recover_all_tenants.delay()

    sent = wait_for_status("acme", message.public_id, Status.SENT)
    assert sent.attempts == 1
    assert len(outbox.submissions) == 1


def test_the_recovery_job_leaves_rows_queued_within_the_grace_period_alone(outbox, outbox_worker, tenant):
    with broker_down():
        message = queue_hello(tenant)

    recover_and_wait(outbox_worker)

    assert row("acme", message.public_id).status == Status.QUEUED
    assert outbox.submissions == []


def test_a_worker_killed_after_provider_acceptance_is_resent_with_the_same_dedup_key(
    outbox, outbox_worker, start_worker, tenant
):
    # A worker of its own, which the fake provider SIGKILLs once it has accepted the email: after
    # the submission, before the status write.
    doomed = start_worker()
    outbox.script(kill(doomed.pid))
    with publishing_to(doomed.queue):
        message = queue_hello(tenant)

    assert doomed.exit_code() == -signal.SIGKILL
    [accepted] = outbox.accepted()
    assert row("acme", message.public_id).status == Status.SENDING

    # The task message redelivered by the broker (acks_late) finds the row claimed: nothing sent.
    enqueue_send(message.id, "acme")
    outbox_worker.ping()
    assert len(outbox.submissions) == 1

    # Within the sending timeout the recovery job waits: a live worker might still be sending.
    recover_and_wait(outbox_worker)
    assert row("acme", message.public_id).status == Status.SENDING
    assert len(outbox.submissions) == 1

    # Past it, the row is re-queued and sent again by the live worker, with the same key.
    backdate(message.public_id, updated_at=django_settings.OUTBOX_SENDING_TIMEOUT_SECONDS + 1)
    recover_all_tenants.delay()
    sent = wait_for_status("acme", message.public_id, Status.SENT)

    outbox_worker.ping()  # the send task that wrote "sent" has finished
    first, second = outbox.submissions
    assert first is accepted
    assert first.message_id and second.message_id, "both submissions reached the provider (at-least-once)"
    assert first.header("X-Outbox-Key") == second.header("X-Outbox-Key") == message.dedup_key
    assert first.metadata["dedup_key"] == second.metadata["dedup_key"] == message.dedup_key
    assert sent.provider_message_id == second.message_id
    assert sent.attempts == 2


def test_the_recovery_fan_out_skips_suspended_tenants(outbox, tenant, other_tenant):
    from tenants.services import suspend_tenant

    suspend_tenant(other_tenant, "unpaid")

    assert recover_all_tenants() == 1


def test_a_row_that_loses_its_worker_on_every_attempt_is_failed_not_resent_forever(
    tenant, clean_outbox, email_settings, settings
):
    from tenant_apps.outbox.services import recover_stalled

    settings.OUTBOX_SENDING_TIMEOUT_SECONDS = 0
    with tenant_context(tenant):
        message = OutboxMessage.objects.create(
            to=["ann@example.com"],
            from_email="no-reply@platform.test",
            template="outboxtest/hello",
            subject="Hello",
            body_text="Hi",
            status=Status.SENDING,
            attempts=3,
        )

        assert recover_stalled() == {"queued": 0, "sending": 0}

        message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "worker was lost" in message.last_error
