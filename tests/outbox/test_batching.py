"""Transactional mail leaves in drains (issue 12's throughput): one task per schema claims the due
rows in batches and submits each batch in one call to Postmark's /email/batch, while each row
keeps its own outcome. The drain marks make a burst's emails share one task; a drain takes its
share and hands over, so another tenant's email does not wait behind a big burst."""

import json
import uuid

import pytest
from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django_tenants.utils import tenant_context
from redis import Redis

from config.celery import app
from tenant_apps.outbox import drain_marks, sending
from tenant_apps.outbox.backends import PostmarkEmailBackend
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import queue_email
from tests.outbox.rows import row, wait_for_status
from tests.worker import Worker, publishing_to, session_queue

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxMessage.Status


def queue_many(tenant, addresses: list[str]) -> list[OutboxMessage]:
    """One email per address, queued in one transaction: their drain asks all come at the commit."""
    with tenant_context(tenant), transaction.atomic():
        return [queue_email([to], "outboxtest/hello", {"name": "Reader"}) for to in addresses]


def by_key(submissions) -> dict:
    return {s.metadata["dedup_key"]: s for s in submissions}


@pytest.fixture
def dead_queue():
    """A queue base no worker consumes: what is sent there stays in Redis, to be read back."""
    base = f"{session_queue()}-{uuid.uuid4().hex[:8]}"
    client = Redis.from_url(app.conf.broker_url.replace("redis+socket://", "unix://"))

    def tasks(kind="email") -> list[tuple[str, str]]:
        queue = f"{base}-{kind}"
        return [
            (message["headers"]["task"], message["headers"]["_schema_name"])
            for message in map(json.loads, client.lrange(queue, 0, -1))
        ]

    yield base, tasks
    for key in client.scan_iter(match=f"*{base}*"):
        client.delete(key)
    client.close()


def test_a_burst_leaves_in_one_batch_call_and_each_row_keeps_its_own_outcome(outbox, tenant):
    outbox.refuse("nobody@example.com")
    addresses = [f"reader{i}@example.com" for i in range(11)] + ["nobody@example.com"]

    messages = queue_many(tenant, addresses)

    settled = [wait_for_status("acme", m.public_id, Status.SENT, Status.FAILED) for m in messages]
    # One request for the twelve: Postmark's batch endpoint, every email in it.
    assert {(s.path, s.batch_size) for s in outbox.submissions} == {("/email/batch", 12)}
    submitted = by_key(outbox.submissions)
    for message in settled[:11]:
        assert message.status == Status.SENT and message.attempts == 1
        assert message.provider_message_id == submitted[message.dedup_key].message_id
        assert submitted[message.dedup_key].data["To"] == message.to[0]
    assert len({m.provider_message_id for m in settled[:11]}) == 11
    refused = settled[11]
    assert (refused.status, refused.attempts) == (Status.FAILED, 1)
    assert "nobody@example.com" in refused.last_error


def test_a_batch_call_that_fails_is_a_transient_error_for_each_of_its_rows(outbox, outbox_worker, tenant):
    outbox.script(500)

    messages = queue_many(tenant, ["ann@example.com", "bob@example.com", "cy@example.com"])

    for message in messages:
        sent = wait_for_status("acme", message.public_id, Status.SENT)
        assert sent.attempts == 2
    failed_call = [s for s in outbox.submissions if s.answer == 500]
    assert {(s.path, s.batch_size) for s in failed_call} == {("/email/batch", 3)}
    # Each row was accepted once, by its own retry after its backoff.
    accepted = [s.metadata["dedup_key"] for s in outbox.accepted()]
    assert sorted(accepted) == sorted(m.dedup_key for m in messages)


def test_emails_queued_while_a_drain_is_pending_share_it(outbox, tenant, dead_queue):
    base, tasks = dead_queue
    with publishing_to(base), tenant_context(tenant):
        for i in range(5):  # five requests, each its own transaction
            queue_email([f"reader{i}@example.com"], "outboxtest/hello", {"name": "Reader"})
        assert tasks() == [("outbox.send_queued", "acme")]

        # A drain starting deletes the mark before it claims: the next email asks for a new one.
        drain_marks.release("acme")
        queue_email(["late@example.com"], "outboxtest/hello", {"name": "Reader"})
    assert tasks() == [("outbox.send_queued", "acme")] * 2


def test_a_drain_takes_its_share_of_its_own_schema_and_hands_over(
    outbox, settings, tenant, other_tenant, dead_queue
):
    base, tasks = dead_queue
    with publishing_to(base):
        acme = queue_many(tenant, [f"a{i}@example.com" for i in range(7)])
        globex = queue_many(other_tenant, ["g0@example.com", "g1@example.com"])
    settings.OUTBOX_BATCH_SIZE = 2
    settings.OUTBOX_DRAIN_MAX_ROWS = 4

    with publishing_to(base), tenant_context(tenant):
        assert sending.deliver_due() == {"sent": 4}

    statuses = [row("acme", m.public_id).status for m in acme]
    assert statuses == [Status.SENT] * 4 + [Status.QUEUED] * 3  # the oldest first
    # Another tenant's rows are not a drain's business, and its emails are not in the batches.
    assert {row("globex", m.public_id).status for m in globex} == {Status.QUEUED}
    assert {s.metadata["tenant"] for s in outbox.submissions} == {"acme"}
    assert [s.batch_size for s in outbox.submissions] == [2, 2, 2, 2]
    # Its share spent, it enqueued the next drain behind what was waiting (globex's).
    assert tasks() == [
        ("outbox.send_queued", "acme"),
        ("outbox.send_queued", "globex"),
        ("outbox.send_queued", "acme"),
    ]


def test_another_tenants_email_waits_for_one_share_of_a_burst_not_for_the_burst(
    outbox, tenant, other_tenant, worker_logs
):
    share = 10
    queue = f"{session_queue()}-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        queue,
        {"TP_TEST_POSTMARK_URL": outbox.url, "OUTBOX_BATCH_SIZE": "5", "OUTBOX_DRAIN_MAX_ROWS": str(share)},
        worker_logs,
    )
    try:
        with publishing_to(queue):
            # Both on the queue before the worker starts: acme's burst first, then globex's reset.
            burst = queue_many(tenant, [f"reader{i}@example.com" for i in range(40)])
            [reset] = queue_many(other_tenant, ["reset-me@globex.test"])
            worker.start()
            wait_for_status("globex", reset.public_id, Status.SENT)
            for message in burst:
                wait_for_status("acme", message.public_id, Status.SENT)
    finally:
        worker.stop()

    accepted = outbox.accepted()
    reset_at = next(i for i, s in enumerate(accepted) if s.metadata["tenant"] == "globex")
    assert reset_at == share, [s.metadata["tenant"] for s in accepted]
    assert all(
        s.path == "/email/batch" and s.batch_size <= 5 for s in accepted if s.metadata["tenant"] == "acme"
    )


def test_the_batch_backend_gives_each_email_its_own_result(outbox):
    backend = PostmarkEmailBackend()
    outbox.refuse("nobody@example.com")
    emails = [
        EmailMultiAlternatives("Hi", "Hello", "from@platform.test", [to])
        for to in ["ann@example.com", "nobody@example.com", "bob@example.com"]
    ]

    results = backend.send_batch(emails)

    assert results[0] is None and results[2] is None
    assert isinstance(results[1], AnymailRecipientsRefused)
    accepted = {s.data["To"]: s.message_id for s in outbox.accepted()}
    assert emails[0].anymail_status.message_id == accepted["ann@example.com"]
    assert emails[2].anymail_status.message_id == accepted["bob@example.com"]
    assert {s.batch_size for s in outbox.submissions} == {3}


def test_the_batch_backend_reports_a_provider_it_cannot_reach_for_every_email(outbox, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "POSTMARK_API_URL": "http://127.0.0.1:9/"}  # discard port
    emails = [
        EmailMultiAlternatives("Hi", "Hello", "from@platform.test", [to]) for to in ["a@x.test", "b@x.test"]
    ]

    results = PostmarkEmailBackend().send_batch(emails)

    assert all(isinstance(error, AnymailRequestsAPIError) for error in results)
    assert all(sending.classify(error) is sending.TransientError for error in results)
