"""The tracking webhook facing what no provider sends: malformed bodies and fields answer 400 and
change nothing, and without a webhook secret the endpoint is not served at all."""

import base64
import json
import logging
import uuid

import pytest
from django_tenants.utils import schema_context

from tenant_apps.outbox.models import OutboxMessage
from tests.mail_config import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status
URL = "/webhooks/email/tracking/"


def post_raw(client, body: bytes, secret: str = WEBHOOK_SECRET):
    auth = base64.b64encode(secret.encode()).decode()
    return client.post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}")


def delivery(**fields) -> dict:
    return {
        "RecordType": "Delivery",
        "MessageID": str(uuid.uuid4()),
        "Recipient": "ann@example.com",
        "Tag": "tenant:acme",
        "Metadata": {"tenant": "acme"},
        "DeliveredAt": "2026-01-01T00:00:01Z",
        **fields,
    }


@pytest.fixture
def sent(tenant, email_settings):
    with schema_context("acme"):
        return OutboxMessage.objects.create(
            to=["ann@example.com"],
            from_email="no-reply@platform.test",
            template="outboxtest/hello",
            subject="Hello",
            body_text="Hi",
            status=Status.SENT,
            attempts=1,
            provider_message_id="pm-1",
        )


def unchanged(message) -> bool:
    with schema_context("acme"):
        return OutboxMessage.objects.get(pk=message.pk).status == Status.SENT


MALFORMED = {
    "a list instead of an object": json.dumps([delivery(MessageID="pm-1")]).encode(),
    "a string": b'"Delivery"',
    "null": b"null",
    "not JSON": b'{"RecordType": "Delivery",',
    "not UTF-8": b'{"RecordType": "Delivery", "MessageID": "\xff\xfe"}',
    "deeply nested JSON": b"[" * 5000 + b"]" * 5000,
    "a deep object": json.dumps(
        delivery(MessageID="pm-1", Metadata={"tenant": "acme", "x": json.loads("[" * 50 + "]" * 50)})
    ).encode(),
    "a NUL in the message id": json.dumps(delivery(MessageID="pm-1\x00")).encode(),
    "a NUL in a key": json.dumps(delivery(MessageID="pm-1", Metadata={"ten\x00ant": "acme"})).encode(),
    "metadata that is a string": json.dumps(delivery(MessageID="pm-1", Metadata="acme")).encode(),
    "a tag that is an object": json.dumps(
        delivery(MessageID="pm-1", Metadata={}, Tag={"tenant": "acme"})
    ).encode(),
    "a message id that is a number": json.dumps(delivery(MessageID=12345)).encode(),
    "a tenant that is a number": json.dumps(delivery(MessageID="pm-1", Metadata={"tenant": 7})).encode(),
    "a tenant that is no schema name": json.dumps(
        delivery(MessageID="pm-1", Metadata={"tenant": "acme; DROP"})
    ).encode(),
    "an outbox id that is no UUID": json.dumps(
        delivery(MessageID="", Metadata={"tenant": "acme", "outbox_id": "not-a-uuid"})
    ).encode(),
    "an outbox id that is a list": json.dumps(
        delivery(MessageID="", Metadata={"tenant": "acme", "outbox_id": ["x"]})
    ).encode(),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_event_is_a_400_and_changes_nothing(root_client, sent, case):
    response = post_raw(root_client, MALFORMED[case])

    assert response.status_code == 400, (case, response.status_code)
    assert unchanged(sent)


@pytest.mark.parametrize("secret", [WEBHOOK_SECRET, "postmark:wrong", None])
def test_a_body_that_is_no_form_is_refused_with_a_400_even_where_csrf_is_enforced(settings, sent, secret):
    from django.test import Client

    headers = {}
    if secret:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(secret.encode()).decode()
    client = Client(HTTP_HOST=settings.BASE_DOMAIN, enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = "x" * 32  # as a browser that visited the site has

    response = client.generic("POST", URL, b"--x\r\n", content_type="multipart/form-data", **headers)

    assert response.status_code == 400
    assert unchanged(sent)


def test_a_well_formed_event_still_moves_the_row(root_client, sent):
    response = post_raw(root_client, json.dumps(delivery(MessageID="pm-1")).encode())

    assert response.status_code == 200
    assert not unchanged(sent)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_without_a_webhook_secret_the_webhook_refuses_every_event_with_a_log_line(
    root_client, sent, settings, caplog, environment
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    settings.DJANGO_ENV = environment

    with caplog.at_level(logging.ERROR, logger="tenant_apps.outbox.tracking"):
        forged = root_client.post(
            URL, data=json.dumps(delivery(MessageID="pm-1")), content_type="application/json"
        )

    assert forged.status_code == 503
    assert unchanged(sent)
    assert any("ANYMAIL_WEBHOOK_SECRET" in record.getMessage() for record in caplog.records)
