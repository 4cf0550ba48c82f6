"""The delivery-tracking webhook: one endpoint on the root domain, anymail's Postmark parser, the
tenant found from the metadata the message was sent with."""

import base64
import json
import uuid

import pytest
from django_tenants.utils import schema_context

from tenant_apps.outbox.models import OutboxMessage
from tests.mail_config import WEBHOOK_SECRET

Status = OutboxMessage.Status
URL = "/webhooks/email/tracking/"


def sent_row(schema: str, provider_message_id: str) -> OutboxMessage:
    with schema_context(schema):
        return OutboxMessage.objects.create(
            to=["ann@example.com"],
            from_email="no-reply@platform.test",
            template="outboxtest/hello",
            subject="Hello",
            body_text="Hi",
            status=Status.SENT,
            attempts=1,
            provider_message_id=provider_message_id,
        )


def postmark_event(record_type: str, message_id: str, tenant: str, **extra) -> dict:
    event = {
        "RecordType": record_type,
        "MessageID": message_id,
        "Recipient": "ann@example.com",
        "Email": "ann@example.com",
        "Tag": f"tenant:{tenant}",
        "MessageStream": "outbound",
        "Metadata": {"tenant": tenant},
        "DeliveredAt": "2026-01-01T00:00:01Z",
        "BouncedAt": "2026-01-01T00:00:02Z",
        **extra,
    }
    if record_type == "Bounce":
        event.setdefault("Type", "HardBounce")
        event.setdefault("Description", "The server was unable to deliver your message.")
    if record_type == "SpamComplaint":
        event.setdefault("Type", "SpamComplaint")
    return event


def post(client, event: dict, secret: str = WEBHOOK_SECRET):
    auth = base64.b64encode(secret.encode()).decode()
    return client.post(
        URL, data=json.dumps(event), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}"
    )


@pytest.fixture
def rows(tenant, other_tenant, email_settings):
    """A sent row in acme and one in globex with the same provider message id: only the tenant
    named by the event may change."""
    provider_id = str(uuid.uuid4())
    acme, globex = sent_row("acme", provider_id), sent_row("globex", provider_id)
    acme.schema, globex.schema = "acme", "globex"
    return provider_id, acme, globex


def current(message) -> OutboxMessage:
    with schema_context(message.schema):
        return OutboxMessage.objects.get(pk=message.pk)


def test_a_delivery_event_marks_the_named_tenants_row_delivered_and_not_the_other_tenants(root_client, rows):
    provider_id, acme, globex = rows

    response = post(root_client, postmark_event("Delivery", provider_id, "acme"))

    assert response.status_code == 200
    assert current(acme).status == Status.DELIVERED
    assert current(globex).status == Status.SENT


def test_a_bounce_event_marks_the_row_bounced_with_the_reason(root_client, rows):
    provider_id, acme, globex = rows

    post(root_client, postmark_event("Bounce", provider_id, "globex"))

    bounced = current(globex)
    assert bounced.status == Status.BOUNCED
    assert "bounced" in bounced.last_error
    assert current(acme).status == Status.SENT


def test_duplicate_and_out_of_order_events_never_move_a_row_backwards(root_client, rows):
    provider_id, acme, _ = rows

    post(root_client, postmark_event("Delivery", provider_id, "acme"))
    post(root_client, postmark_event("Delivery", provider_id, "acme"))
    assert current(acme).status == Status.DELIVERED
    post(root_client, postmark_event("Bounce", provider_id, "acme"))
    assert current(acme).status == Status.BOUNCED, "a bounce wins over an earlier delivery"
    post(root_client, postmark_event("Delivery", provider_id, "acme"))
    assert current(acme).status == Status.BOUNCED, "a late delivery never undoes a bounce"


def test_a_complaint_wins_over_a_delivery(root_client, rows):
    provider_id, acme, _ = rows

    post(root_client, postmark_event("Delivery", provider_id, "acme"))
    post(root_client, postmark_event("SpamComplaint", provider_id, "acme"))

    assert current(acme).status == Status.COMPLAINED


def test_the_tenant_is_found_from_the_tag_when_metadata_is_missing(root_client, rows):
    provider_id, acme, globex = rows

    post(root_client, postmark_event("Delivery", provider_id, "globex", Metadata={}))

    assert current(globex).status == Status.DELIVERED
    assert current(acme).status == Status.SENT


def test_an_event_for_an_unknown_tenant_is_accepted_and_ignored(root_client, rows):
    provider_id, acme, globex = rows

    response = post(root_client, postmark_event("Delivery", provider_id, "nosuch", Tag=""))

    assert response.status_code == 200
    assert current(acme).status == current(globex).status == Status.SENT


def test_a_wrong_webhook_secret_is_rejected_and_changes_nothing(root_client, rows):
    provider_id, acme, _ = rows

    response = post(root_client, postmark_event("Delivery", provider_id, "acme"), secret="postmark:wrong")

    assert 400 <= response.status_code < 500
    assert current(acme).status == Status.SENT


def test_the_webhook_is_not_served_on_a_tenant_domain(tenant_client, rows):
    provider_id, acme, _ = rows

    response = post(tenant_client, postmark_event("Delivery", provider_id, "acme"))

    assert response.status_code == 404
    assert current(acme).status == Status.SENT
