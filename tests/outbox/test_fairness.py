"""Queues and fairness (issue 12): one tenant's bulk mail never holds up another tenant's mail.

Each test runs a worker of its own (``start_worker``), consuming its four queues like the session's
worker does, and counts what reached the fake provider and in which order. Bounds are in messages,
not seconds, so a loaded machine slows a test down without failing it.
"""

import json

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from redis import Redis

from config.celery import app
from config.task_routes import route_task
from tenant_apps.accounts import emails as account_emails
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import enqueue_send, queue_email
from tenants.services import reactivate_tenant, suspend_tenant
from tests.factories import UserFactory
from tests.outbox.rows import row, wait_for_status, wait_until
from tests.worker import publishing_to, session_queue

Status = OutboxMessage.Status

# The password reset reaches the provider before more than this many bulk messages that were
# queued ahead of it (pool solo: one task in hand, one taken from the bulk queue in its turn).
RESET_BOUND_IN_BULK_MESSAGES = 5


def queue_newsletters(tenant, count: int, prefix: str) -> list[str]:
    """``count`` bulk emails (outboxtest/newsletter), queued in one transaction as a digest
    fan-out does, so their tasks all reach the broker at once, at the commit."""
    with tenant_context(tenant), transaction.atomic():
        return [
            queue_email(
                [f"{prefix}{i}@example.com"], "outboxtest/newsletter", {"name": "Reader", "issue": i}
            ).dedup_key
            for i in range(count)
        ]


def tenant_of(submission) -> str:
    return submission.metadata.get("tenant", "")


@pytest.mark.django_db(transaction=True)
def test_a_password_reset_queued_during_a_bulk_burst_overtakes_it_within_the_stated_bound(
    outbox, start_worker, tenant, other_tenant
):
    worker = start_worker(OUTBOX_BULK_RATE_PER_TENANT="0")  # pacing off: the queues alone
    with tenant_context(tenant):
        user = UserFactory(email="reset-me@acme.test")
    with publishing_to(worker.queue):
        queue_newsletters(other_tenant, 300, "reader")
        # The worker is inside the burst when the reset is queued.
        wait_until(lambda: any(tenant_of(s) == "globex" for s in outbox.accepted()))
        with tenant_context(tenant):
            account_emails.password_reset(user, "https://acme.example.test/reset/one-time-token/")
        bulk_sent_when_queued = sum(1 for s in outbox.accepted() if tenant_of(s) == "globex")

    def reset_accepted():
        return [s for s in outbox.accepted() if s.data["To"] == "reset-me@acme.test"]

    [reset] = wait_until(reset_accepted, timeout=60)
    accepted = outbox.accepted()
    bulk_before_reset = sum(1 for s in accepted[: accepted.index(reset)] if tenant_of(s) == "globex")
    assert bulk_before_reset - bulk_sent_when_queued <= RESET_BOUND_IN_BULK_MESSAGES
    # And the burst was not over: the reset really overtook it.
    assert bulk_before_reset < 300 - RESET_BOUND_IN_BULK_MESSAGES
    wait_until(lambda: sum(1 for s in outbox.accepted() if tenant_of(s) == "globex") == 300, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_one_tenants_bulk_mail_is_paced_and_another_tenants_bulk_mail_does_not_wait_for_it(
    outbox, start_worker, tenant, other_tenant
):
    rate, burst, count = 5, 5, 60
    worker = start_worker(OUTBOX_BULK_RATE_PER_TENANT=str(rate), OUTBOX_BULK_BURST_PER_TENANT=str(burst))
    with publishing_to(worker.queue):
        queue_newsletters(other_tenant, count, "globex-reader")
        wait_until(lambda: any(tenant_of(s) == "globex" for s in outbox.accepted()))
        [acme_key] = queue_newsletters(tenant, 1, "acme-reader")

    acme = wait_until(lambda: [s for s in outbox.accepted() if s.metadata.get("dedup_key") == acme_key])[0]
    accepted = outbox.accepted()
    globex_before = sum(1 for s in accepted[: accepted.index(acme)] if tenant_of(s) == "globex")
    # Acme's task waited only for the worker to pass globex's (cheap) deferrals, not for globex's
    # pace: at least a third of globex's mail was still waiting for its slots when acme's left.
    assert globex_before <= count * 2 // 3, globex_before

    def globex_sent():
        return [s for s in outbox.accepted() if tenant_of(s) == "globex"]

    globex = wait_until(lambda: len(globex_sent()) == count and globex_sent(), timeout=90)
    # After the burst, one every 1/rate seconds (a lower bound: a slow machine only stretches it).
    paced = globex[burst:]
    spread = paced[-1].accepted_at - paced[0].accepted_at
    assert spread >= (len(paced) - 1) / rate * 0.9, spread
    # Every one was sent once, none failed or was lost on the way. The provider accepts a message
    # before the worker records the outcome, so wait for the last row to leave "sending" first.
    with tenant_context(other_tenant):

        def settled():
            statuses = set(OutboxMessage.objects.values_list("status", flat=True))
            return statuses.isdisjoint({Status.QUEUED, Status.SENDING}) and statuses

        statuses = wait_until(settled)
        assert statuses == {Status.SENT}
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_a_tenant_suspended_after_its_tenant_row_was_cached_in_the_worker_gets_no_email_sent(
    outbox, start_worker, tenant
):
    # A long tenant cache: the worker keeps acme's Tenant row from the first email on.
    worker = start_worker(CELERY_TASK_TENANT_CACHE_SECONDS="3600")
    with publishing_to(worker.queue):
        with tenant_context(tenant):
            first = queue_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})
        wait_for_status("acme", first.public_id, Status.SENT)

        suspend_tenant(tenant, "unpaid invoice")
        with tenant_context(tenant):
            held = queue_email(["bob@example.com"], "outboxtest/hello", {"name": "Bob"})
        worker.ping()  # its send task has run

        waiting = row("acme", held.public_id)
        assert (waiting.status, waiting.attempts) == (Status.QUEUED, 0)
        assert [s.data["To"] for s in outbox.accepted()] == ["ann@example.com"]

        reactivate_tenant(tenant)
        wait_for_status("acme", held.public_id, Status.SENT)


# --- routing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_name", "kind"),
    [
        ("outbox.send_message", "email"),
        ("outbox.send_queued", "email"),
        ("outbox.send_bulk_message", "email_bulk"),
        ("tenants.build_export", "bulk"),
        ("tenants.refill_pool", "bulk"),
        ("tenants.purge_deleted", "bulk"),
        ("tenants.verify_domain", "bulk"),
        ("projects.send_tenant_due_digest", "bulk"),
        ("outbox.recover_stalled", "default"),
        ("outbox.release_queued", "default"),
    ],
)
def test_each_kind_of_task_is_routed_to_its_queue_in_production(settings, task_name, kind):
    settings.TASK_QUEUES_FOLLOW_DEFAULT = False
    assert route_task(task_name, (), {}, {}) == {"queue": kind}
    assert app.amqp.router.route({}, task_name, (), {})["queue"].name == kind


def test_every_task_the_project_registers_has_a_queue_a_compose_worker_consumes(settings):
    from config.task_routes import KINDS

    settings.TASK_QUEUES_FOLLOW_DEFAULT = False
    app.loader.import_default_modules()
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert {"outbox.send_message", "outbox.send_queued"} <= set(names)
    assert {route_task(name, (), {}, {})["queue"] for name in names} <= set(KINDS)


@pytest.mark.django_db(transaction=True)
def test_transactional_and_bulk_send_tasks_land_on_their_own_queues_in_the_broker(tenant):
    # A queue base no worker consumes: the messages stay in Redis, where they are read back.
    base = f"{session_queue()}-routing"
    url = app.conf.broker_url.replace("redis+socket://", "unix://")
    client = Redis.from_url(url)
    try:
        with publishing_to(base):
            assert enqueue_send(101, "acme")
            assert enqueue_send(102, "acme", bulk=True)

        def task_names(queue):
            return [json.loads(raw)["headers"]["task"] for raw in client.lrange(queue, 0, -1)]

        assert task_names(f"{base}-email") == ["outbox.send_message"]
        assert task_names(f"{base}-email_bulk") == ["outbox.send_bulk_message"]
        assert task_names(base) == []
    finally:
        for key in client.scan_iter(match=f"*{base}*"):
            client.delete(key)
        client.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_reused_database_connection_died_reconnects_after_one_failed_task(
    outbox, start_worker, tenant
):
    # Connections reused across tasks (CELERY_DB_REUSE_MAX), as in production.
    worker = start_worker(DB_CONN_MAX_AGE="60")
    with publishing_to(worker.queue):
        with tenant_context(tenant):
            first = queue_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})
        wait_for_status("acme", first.public_id, Status.SENT)
        # The database restarts, as far as this worker can tell: its session is ended.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                [worker.name],
            )
        wait_until(lambda: worker.database_sessions() == 0)

        with tenant_context(tenant):
            unlucky = queue_email(["bob@example.com"], "outboxtest/hello", {"name": "Bob"})
        worker.ping()  # its task ran, and failed on the dead connection
        with tenant_context(tenant):
            after = queue_email(["cy@example.com"], "outboxtest/hello", {"name": "Cy"})

        wait_for_status("acme", after.public_id, Status.SENT)
    # The unlucky row's drain failed before it claimed anything; the next drain sent it too.
    assert (row("acme", unlucky.public_id).status, row("acme", unlucky.public_id).attempts) == (
        Status.SENT,
        1,
    )
