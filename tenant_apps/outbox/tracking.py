"""Delivery tracking: the ESP's webhooks, through anymail, update the sending tenant's outbox row.

One public endpoint on the root domain (``/webhooks/email/tracking/``) hands the request to
anymail's tracking view for the configured provider (EMAIL_PROVIDER), which checks the basic-auth
WEBHOOK_SECRET and sends ``anymail.signals.tracking`` once per event. ``on_tracking_event`` finds
the tenant from the metadata (or the ``tenant:<schema>`` tag) the message was sent with, switches
to its schema and updates the row found by provider message id.

Events arrive duplicated and out of order. Each status has a rank and an event only moves a row
up: ``sent < delivered < bounced = complained``. A late "delivered" never undoes a bounce, a
repeated one changes nothing, and a bounce or complaint wins over an earlier delivery (a bounce
can follow a provider-side "delivered"; a complaint always does).

The endpoint is served only with a webhook secret configured, in every environment: without one,
anyone could post forged bounces and deliveries, so it answers 503 (the provider retries later)
and logs an error. Input that no provider sends (bodies that are not UTF-8 JSON, nested deeper
than MAX_JSON_DEPTH, holding NUL characters, of the wrong shape; fields of the wrong type; ids
that are not ids) answers 400 and changes nothing; a database that is down still answers 500,
so the provider retries.
"""

import json
import logging
import re
import uuid
from functools import cache

from anymail.signals import EventType
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import get_public_schema_name, schema_context

from tenant_apps.outbox.models import OutboxMessage
from tenants.models import Tenant
from tenants.request_guards import nesting_exceeds

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

# anymail's tracking webhook view for each provider EMAIL_PROVIDER may name.
TRACKING_VIEWS = {
    "postmark": "anymail.webhooks.postmark.PostmarkTrackingWebhookView",
    "sendgrid": "anymail.webhooks.sendgrid.SendGridTrackingWebhookView",
    "mailgun": "anymail.webhooks.mailgun.MailgunTrackingWebhookView",
    "amazon_ses": "anymail.webhooks.amazon_ses.AmazonSESTrackingWebhookView",
    "brevo": "anymail.webhooks.brevo.BrevoTrackingWebhookView",
    "resend": "anymail.webhooks.resend.ResendTrackingWebhookView",
}

# Which rows an event may move, and where to. Anything else (opened, clicked, deferred...) is
# not a delivery outcome and is ignored.
TRANSITIONS = {
    EventType.DELIVERED: (Status.DELIVERED, [Status.SENT]),
    EventType.BOUNCED: (Status.BOUNCED, [Status.SENT, Status.DELIVERED]),
    EventType.REJECTED: (Status.BOUNCED, [Status.SENT, Status.DELIVERED]),
    EventType.COMPLAINED: (Status.COMPLAINED, [Status.SENT, Status.DELIVERED]),
}


# Provider events are a few levels deep; a body nested deeper is not one (and would exhaust the
# parser's recursion).
MAX_JSON_DEPTH = 16
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,62}")


class MalformedEvent(SuspiciousOperation):
    """Not an event any provider sends; Django answers 400 (SuspiciousOperation)."""


def webhook_secret() -> str | list:
    return settings.ANYMAIL.get("WEBHOOK_SECRET") or ""


@csrf_exempt  # the provider has no CSRF token; the basic-auth secret authenticates it
def tracking_webhook(request, *args, **kwargs):
    """The configured provider's anymail tracking view: 404 when no provider is configured, 503
    when no webhook secret is, 400 for a wrong secret or a malformed body (checked before anymail
    parses it).

    Refusals are answered here, not by Django's error handlers: those check CSRF (the webhook is
    exempt, they are not), which reads the body as a form, and a body that is not one (multipart
    without a boundary) would turn the refusal into a 500.
    """
    path = TRACKING_VIEWS.get(settings.EMAIL_PROVIDER)
    if path is None:
        return HttpResponseNotFound("No email provider is configured.", content_type="text/plain")
    if not webhook_secret():
        logger.error(
            "email tracking webhook refused: EMAIL_PROVIDER=%s but ANYMAIL_WEBHOOK_SECRET is not "
            "set, so events cannot be authenticated",
            settings.EMAIL_PROVIDER,
        )
        return HttpResponse(
            "The email tracking webhook is not configured.", status=503, content_type="text/plain"
        )
    try:
        if request.method == "POST":
            check_body(request.body)
        return guarded_view(path).as_view()(request, *args, **kwargs)
    except SuspiciousOperation as exc:  # a wrong secret (anymail's) or a malformed event (ours)
        logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
        return HttpResponseBadRequest(str(exc), content_type="text/plain")


def check_body(body: bytes) -> None:
    """Raise MalformedEvent unless ``body`` is UTF-8 JSON of bounded depth without NUL characters.
    Every supported provider posts JSON (Amazon SES's SNS notifications as text/plain)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("The body is not UTF-8.") from None
    if nesting_exceeds(text, MAX_JSON_DEPTH):
        raise MalformedEvent("The body is nested too deeply.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedEvent("The body is not JSON.") from None
    if _has_nul(data):
        raise MalformedEvent("The body holds a NUL character.")


def _has_nul(data) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


@cache
def guarded_view(path: str):
    """anymail's view class at ``path``, whose parsing errors (a body of the wrong shape: a list
    where an object belongs, a string where a list does) are MalformedEvent, not a 500."""
    view_class = import_string(path)

    class Guarded(view_class):
        def parse_events(self, request):
            try:
                return super().parse_events(request)
            # RecursionError: JSON nested inside a field (Amazon SES's SNS "Message") parsed by anymail.
            except (AttributeError, IndexError, KeyError, RecursionError, TypeError, ValueError) as exc:
                raise MalformedEvent(f"Not a {self.esp_name} tracking event.") from exc

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{view_class.__name__}"
    return Guarded


def _text(value, name: str, max_length: int = 255) -> str:
    """An event field we query or store: a string (or nothing), without NUL, of bounded length."""
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value or len(value) > max_length:
        raise MalformedEvent(f"The event's {name} is not valid.")
    return value


def tenant_schema_of(event) -> str | None:
    metadata = event.metadata or {}
    if not isinstance(metadata, dict):
        raise MalformedEvent("The event's metadata is not an object.")
    schema = _text(metadata.get("tenant"), "tenant")
    if not schema:
        tags = event.tags or []
        if not isinstance(tags, list):
            raise MalformedEvent("The event's tags are not a list.")
        for tag in tags:
            tag = _text(tag, "tag")
            if tag.startswith("tenant:"):
                schema = tag.removeprefix("tenant:")
                break
    if schema and not SCHEMA_NAME.fullmatch(schema):
        raise MalformedEvent("The event's tenant is not valid.")
    return schema or None


def outbox_id_of(event) -> uuid.UUID | None:
    value = _text((event.metadata or {}).get("outbox_id"), "outbox_id")
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise MalformedEvent("The event's outbox_id is not valid.") from None


def on_tracking_event(sender, event, esp_name, **kwargs):
    """anymail.signals.tracking receiver. Unknown tenants and rows are logged and ignored (the
    webhook answers 200, so the provider does not retry an event that can never apply); a malformed
    one raises MalformedEvent (400)."""
    transition = TRANSITIONS.get(event.event_type)
    if transition is None:
        return
    # Validate everything before touching a schema: a malformed event changes nothing.
    schema = tenant_schema_of(event)
    message_id = _text(event.message_id, "message id")
    outbox_id = outbox_id_of(event)
    reason = " ".join(_text(part, "description", 2000) for part in (event.reject_reason, event.description))
    # The public schema has an outbox too: the platform's own emails (services.queue_platform_email).
    known = schema == get_public_schema_name() or Tenant.objects.filter(schema_name=schema).exists()
    if schema is None or not known:
        logger.info(
            "%s %s event for message %s names no known tenant (%r); ignored",
            esp_name,
            event.event_type,
            message_id,
            schema,
        )
        return
    new_status, from_statuses = transition
    with schema_context(schema):
        rows = OutboxMessage.objects.filter(status__in=from_statuses)
        if message_id:
            rows = rows.filter(provider_message_id=message_id)
        elif outbox_id:
            rows = rows.filter(public_id=outbox_id)
        else:
            return
        error = ""
        if new_status in (Status.BOUNCED, Status.COMPLAINED):
            error = f"{esp_name} {event.event_type}: {reason}".strip()
        changed = rows.update(
            status=new_status, updated_at=timezone.now(), **({"last_error": error[:2000]} if error else {})
        )
    logger.info(
        "%s %s event for message %s in %s: %d row(s) updated",
        esp_name,
        event.event_type,
        message_id,
        schema,
        changed,
    )
