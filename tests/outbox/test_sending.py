"""End to end: queue_email -> Redis -> a real Celery worker -> anymail's Postmark backend -> the
local fake Postmark server, and back into the tenant's outbox row."""

from email import message_from_string

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import queue_email
from tests.outbox.rows import row, wait_for_status
from tests.worker import publishing_to

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboxMessage.Status


def queue_hello(tenant, to="ann@example.com", **kwargs):
    with tenant_context(tenant):
        return queue_email([to], "outboxtest/hello", {"name": "Ann"}, **kwargs)


def test_a_queued_email_is_sent_through_the_provider_with_the_tenants_branding(outbox, tenant):
    tenant.email_from_name = "Acme Support"
    tenant.email_reply_to = "help@acme.test"
    tenant.save(update_fields=["email_from_name", "email_reply_to"])

    message = queue_hello(tenant)

    sent = wait_for_status("acme", message.public_id, Status.SENT)
    [submission] = outbox.submissions
    assert sent.attempts == 1
    assert sent.provider_message_id == submission.message_id
    assert sent.sent_at is not None
    assert submission.path == "/email"
    assert submission.data["From"] == "Acme Support <no-reply@platform.test>"
    assert submission.data["ReplyTo"] == "help@acme.test"
    assert submission.data["To"] == "ann@example.com"
    assert submission.data["Subject"] == "Hello from Acme, Ann"
    assert submission.data["TextBody"] == "Hi Ann, this is Acme.\n"
    assert "<strong>Acme</strong>" in submission.data["HtmlBody"]
    assert submission.metadata == {
        "tenant": "acme",
        "outbox_id": str(message.public_id),
        "dedup_key": message.dedup_key,
    }
    assert submission.header("X-Outbox-Key") == message.dedup_key
    assert submission.data["Tag"] == "tenant:acme"


def test_the_from_name_falls_back_to_the_tenant_name_and_reply_to_to_the_argument(outbox, tenant):
    message = queue_hello(tenant, reply_to="owner@acme.test")

    assert message.from_email == "Acme <no-reply@platform.test>"
    assert message.reply_to == "owner@acme.test"


def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent(outbox, outbox_worker, tenant):
    with pytest.raises(RuntimeError), tenant_context(tenant), transaction.atomic():
        queue_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})
        raise RuntimeError("the request failed after queueing")

    outbox_worker.ping()  # a task sent despite the rollback would have run by now
    with tenant_context(tenant):
        assert not OutboxMessage.objects.exists()
    assert outbox.submissions == []


def test_a_provider_5xx_is_retried_with_backoff_and_the_email_is_sent_once(outbox, tenant):
    outbox.script(500, 503)

    message = queue_hello(tenant)

    sent = wait_for_status("acme", message.public_id, Status.SENT)
    assert [s.answer for s in outbox.submissions] == [500, 503, "ok"]
    assert len(outbox.accepted()) == 1
    assert sent.attempts == 3
    assert sent.provider_message_id == outbox.accepted()[0].message_id
    # Each retry waited for its backoff: base 0.1s doubled, at least half of it (jitter).
    gaps = [b.at - a.at for a, b in zip(outbox.submissions, outbox.submissions[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1


def test_a_429_and_a_provider_that_hangs_are_transient(outbox, tenant):
    outbox.script(429, "hang")

    message = queue_hello(tenant)

    sent = wait_for_status("acme", message.public_id, Status.SENT)
    assert sent.attempts == 3
    assert [s.answer for s in outbox.submissions] == [429, "hang", "ok"]


def test_transient_errors_fail_the_message_when_the_attempts_run_out(outbox, outbox_worker, tenant):
    outbox.script(500, 500, 500, "ok")

    message = queue_hello(tenant)

    failed = wait_for_status("acme", message.public_id, Status.FAILED)
    assert failed.attempts == 3
    assert "500" in failed.last_error
    outbox_worker.ping()  # the task that wrote "failed" has finished, and whatever it enqueued
    assert len(outbox.submissions) == 3


def test_an_invalid_recipient_fails_at_once_without_retry(outbox, outbox_worker, tenant):
    outbox.script(422)

    message = queue_hello(tenant, to="not-a-mailbox@example.com")

    failed = wait_for_status("acme", message.public_id, Status.FAILED)
    assert failed.attempts == 1
    assert "not-a-mailbox@example.com" in failed.last_error
    outbox_worker.ping()  # the task that wrote "failed" has finished, and whatever it enqueued
    assert len(outbox.submissions) == 1
    assert row("acme", message.public_id).status == Status.FAILED


def test_a_4xx_other_than_429_fails_at_once_without_retry(outbox, outbox_worker, tenant):
    outbox.script(401)

    message = queue_hello(tenant)

    failed = wait_for_status("acme", message.public_id, Status.FAILED)
    assert failed.attempts == 1
    outbox_worker.ping()
    assert len(outbox.submissions) == 1


def test_tasks_for_acme_then_globex_in_one_worker_each_run_in_their_own_schema(outbox, tenant, other_tenant):
    acme_message = queue_hello(tenant, to="ann@acme.test")
    globex_message = queue_hello(other_tenant, to="bob@globex.test")

    wait_for_status("acme", acme_message.public_id, Status.SENT)
    wait_for_status("globex", globex_message.public_id, Status.SENT)
    by_recipient = {s.data["To"]: s for s in outbox.submissions}
    assert by_recipient["ann@acme.test"].metadata["tenant"] == "acme"
    assert by_recipient["bob@globex.test"].metadata["tenant"] == "globex"
    # The row ids are both 1-ish in their own tables: each task updated its own tenant's row only.
    with tenant_context(tenant):
        assert list(OutboxMessage.objects.values_list("to", flat=True)) == [["ann@acme.test"]]
    with tenant_context(other_tenant):
        assert list(OutboxMessage.objects.values_list("to", flat=True)) == [["bob@globex.test"]]


def test_a_second_task_for_a_sent_message_does_nothing(outbox, outbox_worker, tenant):
    from tenant_apps.outbox.services import enqueue_send

    message = queue_hello(tenant)
    wait_for_status("acme", message.public_id, Status.SENT)

    assert enqueue_send(message.id, "acme")
    outbox_worker.ping()  # the second task has run
    assert len(outbox.submissions) == 1
    assert row("acme", message.public_id).attempts == 1


def test_queue_email_outside_a_tenant_is_refused(outbox):
    with pytest.raises(RuntimeError, match="tenant"):
        queue_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})


def test_the_providers_delivery_webhook_finds_the_sent_row_from_what_was_sent(outbox, tenant, root_client):
    import base64
    import json

    from tests.mail_config import WEBHOOK_SECRET

    message = queue_hello(tenant)
    wait_for_status("acme", message.public_id, Status.SENT)
    [submission] = outbox.submissions
    # Postmark echoes the message's Metadata and Tag in its webhook events.
    event = {
        "RecordType": "Delivery",
        "MessageID": submission.message_id,
        "Recipient": "ann@example.com",
        "DeliveredAt": "2026-01-01T00:00:01Z",
        "Metadata": submission.metadata,
        "Tag": submission.data["Tag"],
    }

    response = root_client.post(
        "/webhooks/email/tracking/",
        data=json.dumps(event),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode(),
    )

    assert response.status_code == 200
    assert row("acme", message.public_id).status == Status.DELIVERED


def test_without_a_provider_django_s_backend_sends_it_with_a_message_id_made_of_the_dedup_key(
    outbox, start_worker, tenant, settings, tmp_path
):
    # A worker of its own with Django's file backend: the console and SMTP backends' path.
    worker = start_worker(
        TP_TEST_POSTMARK_URL="",
        EMAIL_FILE_PATH=str(tmp_path),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
    )
    with publishing_to(worker.queue):
        message = queue_hello(tenant)

    sent = wait_for_status("acme", message.public_id, Status.SENT)
    [written] = tmp_path.iterdir()
    email = message_from_string(written.read_text().split("\n" + "-" * 79 + "\n")[0])
    expected_id = f"<{message.dedup_key}@{settings.BASE_DOMAIN}>"
    assert email["Message-ID"] == sent.provider_message_id == expected_id
    text, html = email.get_payload()
    assert text.get_payload(decode=True).decode() == "Hi Ann, this is Acme.\n"
    assert html.get_content_type() == "text/html"
    assert outbox.submissions == []
