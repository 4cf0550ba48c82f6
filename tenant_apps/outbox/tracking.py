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
"""

import logging

from anymail.signals import EventType
from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import get_public_schema_name, schema_context

from tenant_apps.outbox.models import OutboxMessage

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


@csrf_exempt  # the provider has no CSRF token; the basic-auth secret authenticates it
def tracking_webhook(request, *args, **kwargs):
    """The configured provider's anymail tracking view; 404 when no provider is configured."""
    path = TRACKING_VIEWS.get(getattr(settings, "EMAIL_PROVIDER", ""))
    if path is None:
        raise Http404("No email provider is configured.")
    return import_string(path).as_view()(request, *args, **kwargs)


def tenant_schema_of(event) -> str | None:
    schema = (event.metadata or {}).get("tenant")
    if not schema:
        for tag in event.tags or []:
            if tag.startswith("tenant:"):
                schema = tag.removeprefix("tenant:")
                break
    return schema or None


def on_tracking_event(sender, event, esp_name, **kwargs):
    """anymail.signals.tracking receiver. Unknown tenants and rows are logged and ignored (the
    webhook answers 200, so the provider does not retry an event that can never apply)."""
    from tenants.models import Tenant

    transition = TRANSITIONS.get(event.event_type)
    if transition is None:
        return
    schema = tenant_schema_of(event)
    if schema is None or schema == get_public_schema_name() or not Tenant.objects.filter(schema_name=schema).exists():
        logger.info("%s %s event for message %s names no known tenant (%r); ignored",
                    esp_name, event.event_type, event.message_id, schema)
        return
    new_status, from_statuses = transition
    with schema_context(schema):
        rows = OutboxMessage.objects.filter(status__in=from_statuses)
        if event.message_id:
            rows = rows.filter(provider_message_id=event.message_id)
        elif (event.metadata or {}).get("outbox_id"):
            rows = rows.filter(public_id=event.metadata["outbox_id"])
        else:
            return
        error = ""
        if new_status in (Status.BOUNCED, Status.COMPLAINED):
            error = f"{esp_name} {event.event_type}: {event.reject_reason or ''} {event.description or ''}".strip()
        changed = rows.update(status=new_status, updated_at=timezone.now(),
                              **({"last_error": error[:2000]} if error else {}))
    logger.info("%s %s event for message %s in %s: %d row(s) updated",
                esp_name, event.event_type, event.message_id, schema, changed)
