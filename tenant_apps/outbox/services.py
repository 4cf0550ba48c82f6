"""The outbox's rules: queue an email, resend a failed one, recover rows that stalled.

The life of a row::

    queued --claim--> sending --accepted--> sent --webhook--> delivered | bounced | complained
       ^                 |
       +-- transient ----+ (attempts < OUTBOX_MAX_ATTEMPTS, after a backoff with jitter)
                         +-- permanent, or transient with no attempts left --> failed

``queue_email`` writes the row in the caller's transaction and enqueues the send task only after
that transaction commits, so a rolled-back request sends nothing and a committed one always has
its row. If the broker is down then, the request still succeeds and the row waits, queued, for
``recover_stalled`` (run by beat for every active tenant), which also re-queues rows left in
``sending`` by a worker that died. Sending itself is in ``tenant_apps.outbox.sending``.
"""

import logging
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.db import connection, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenant_apps.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

# A broker blip is absorbed; a broker that is down costs the request about a second, not a hang.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def outbox_setting(name: str):
    """OUTBOX_* settings, read at call time (tests and the benchmark change them)."""
    defaults = {
        "OUTBOX_MAX_ATTEMPTS": 6,
        "OUTBOX_RETRY_BASE_SECONDS": 30.0,
        "OUTBOX_RETRY_MAX_SECONDS": 900.0,
        "OUTBOX_QUEUED_GRACE_SECONDS": 120.0,
        "OUTBOX_SENDING_TIMEOUT_SECONDS": 600.0,
    }
    return getattr(settings, name, defaults[name])


def _current_tenant():
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == get_public_schema_name():
        raise RuntimeError("queue_email needs a tenant's schema: call it inside the tenant's request or "
                           "tenant_context(tenant).")
    return tenant


def sender_for(tenant) -> str:
    """``"<tenant's from name>" <DEFAULT_FROM_EMAIL's address>``: the name is the tenant's brand,
    the address stays the platform's verified sending domain."""
    name = tenant.email_from_name or tenant.name
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    return formataddr((name, address)) if name else address


def render_email(template: str, context: dict) -> tuple[str, str, str]:
    """Render ``<app>/emails/<name>/`` (subject.txt, body.txt, body.html) for template="<app>/<name>".

    The subject is folded to one line. body.html is optional; the text part never is.
    """
    app, _, name = template.partition("/")
    if not app or not name:
        raise ValueError(f'template must look like "<app>/<name>", not {template!r}')
    folder = f"{app}/emails/{name}"
    subject = " ".join(render_to_string(f"{folder}/subject.txt", context).split())
    text = render_to_string(f"{folder}/body.txt", context)
    try:
        html = render_to_string(f"{folder}/body.html", context)
    except TemplateDoesNotExist:
        html = ""
    return subject, text, html


def queue_email(to: list[str], template: str, context: dict, *, reply_to: str | None = None) -> OutboxMessage:
    """Render an email now, branded for the current tenant, and queue it for sending.

    The row is written in the caller's transaction; the send task is enqueued when that transaction
    commits (at once in autocommit). ``context`` gets ``tenant``. From name: the tenant's
    email_from_name or name; reply-to: ``reply_to`` or the tenant's email_reply_to.
    """
    if isinstance(to, str):
        to = [to]
    if not to:
        raise ValueError("an email needs at least one recipient")
    tenant = _current_tenant()
    subject, text, html = render_email(template, {"tenant": tenant, **context})
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            to=list(to), from_email=sender_for(tenant), reply_to=reply_to or tenant.email_reply_to or "",
            template=template, subject=subject, body_text=text, body_html=html,
        )
    enqueue_after_commit(message.id)
    return message


def enqueue_after_commit(message_id: int) -> None:
    # The schema is captured now: the transaction may commit after the caller left tenant_context.
    schema = connection.schema_name
    transaction.on_commit(lambda: enqueue_send(message_id, schema))


def enqueue_send(message_id: int, schema: str, *, countdown: float | None = None) -> bool:
    """Put a send task on the broker for the row ``message_id`` of ``schema``.

    Never raises for a broker that is down: the row stays queued and ``recover_stalled`` enqueues
    it again later. Returns whether the task reached the broker.
    """
    from tenant_apps.outbox.tasks import send_message

    try:
        send_message.apply_async(
            (message_id,), countdown=countdown, headers={"_schema_name": schema},
            retry=True, retry_policy=ENQUEUE_RETRY_POLICY,
        )
    except Exception:  # kombu's OperationalError, redis' ConnectionError, a DNS failure...
        logger.warning("could not enqueue outbox message %s of %s; it stays queued for the recovery job",
                       message_id, schema, exc_info=True)
        return False
    return True


def resend(message: OutboxMessage) -> bool:
    """Queue a failed message again with a fresh attempt budget. Returns False if it was not failed
    (someone else resent it first, or it was sent meanwhile)."""
    now = timezone.now()
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, status=Status.FAILED).update(
            status=Status.QUEUED, attempts=0, next_attempt_at=now, last_error="", updated_at=now)
        if updated:
            enqueue_after_commit(message.pk)
    return bool(updated)


def recover_stalled() -> dict[str, int]:
    """Enqueue again, in the current tenant's schema, what should have left already.

    - ``queued`` rows whose attempt was due more than OUTBOX_QUEUED_GRACE_SECONDS ago: their task
      never reached the broker (it was down) or was lost. Their ``next_attempt_at`` moves to now,
      so the next run waits another grace period before enqueuing them once more.
    - ``sending`` rows not touched for OUTBOX_SENDING_TIMEOUT_SECONDS: the worker died between
      its claim and its status write, possibly after the provider accepted the email. They go back
      to ``queued`` and are sent again with the same dedup_key (at-least-once; see README.md,
      "Email delivery"). The timeout is longer than the task's hard time limit, so a live worker's
      row is never taken from it. A row already claimed OUTBOX_MAX_ATTEMPTS times is failed instead.

    Enqueuing another task for a row that already has one is harmless: only one claim wins.
    """
    now = timezone.now()
    queued_cutoff = now - timedelta(seconds=outbox_setting("OUTBOX_QUEUED_GRACE_SECONDS"))
    sending_cutoff = now - timedelta(seconds=outbox_setting("OUTBOX_SENDING_TIMEOUT_SECONDS"))
    with transaction.atomic():
        late = list(OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lt=queued_cutoff)
                    .values_list("id", flat=True)[:1000])
        if late:
            OutboxMessage.objects.filter(id__in=late, status=Status.QUEUED).update(next_attempt_at=now)
        stuck = list(OutboxMessage.objects.filter(status=Status.SENDING, updated_at__lt=sending_cutoff)
                     .values_list("id", flat=True)[:1000])
        requeued = []
        for message_id in stuck:
            # Conditional: a worker that was only slow may have written its result meanwhile.
            still_stuck = OutboxMessage.objects.filter(id=message_id, status=Status.SENDING,
                                                       updated_at__lt=sending_cutoff)
            # A row that kills its worker every time must not loop forever: its attempts run out too.
            if still_stuck.filter(attempts__gte=outbox_setting("OUTBOX_MAX_ATTEMPTS")).update(
                    status=Status.FAILED, updated_at=now,
                    last_error="the worker was lost while sending, on every attempt (the provider may have it)"):
                continue
            if still_stuck.update(status=Status.QUEUED, next_attempt_at=now, updated_at=now,
                                  last_error="re-queued: the worker was lost while sending"):
                requeued.append(message_id)
        for message_id in late + requeued:
            enqueue_after_commit(message_id)
    if late or requeued:
        logger.warning("outbox recovery in %s: %d late queued, %d stuck sending re-queued",
                       connection.schema_name, len(late), len(requeued))
    return {"queued": len(late), "sending": len(requeued)}
