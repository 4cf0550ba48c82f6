"""Sending outbox rows: claim, submit to the provider, record each row's result.

Two ways in, one contract. ``deliver_due`` (the transactional drain, ``tasks.send_queued``) claims
a schema's due transactional rows up to OUTBOX_BATCH_SIZE at a time and submits each batch in one
provider call where the backend can (``backends.PostmarkEmailBackend.send_batch``), one ``send()``
per row on one connection where it cannot. ``deliver_message`` does the same for one given row
(a retry after its backoff, a bulk row at its slot). What makes a retry or a second worker
harmless, either way:

1. Claim with a conditional UPDATE, ``queued -> sending`` where the attempt is due; a row not
   returned is another worker's, sent already, or not due: do nothing with it.
2. Submit the already-rendered parts through Django's email API (django-anymail in production),
   with the row's dedup_key and the tenant's schema name attached (see ``build_email``).
3. Record each row's own result: ``sent`` with the provider's message id; a transient error puts
   the row back to ``queued`` with a backoff, or ``failed`` once the attempts are spent; a
   permanent one fails it at once. In a batch, one row refused by the provider (an invalid
   address) fails alone; a failed call (network, 5xx, 429) is a transient error for each row.

A drain takes at most OUTBOX_DRAIN_MAX_ROWS rows, then enqueues the next drain behind whatever
else waits on the queue, so one tenant's thousands of emails take turns with other tenants'.

Between 2 and 3 a worker can die after the provider accepted the email. The row then stays in
``sending``; ``services.recover_stalled`` re-queues it after OUTBOX_SENDING_TIMEOUT_SECONDS and it
is submitted again with the same dedup_key: at-least-once to the provider, so at most one duplicate
per crash where the provider does not de-duplicate. The status write is deliberately outside the
error handling of the submission: if it fails, the row must stay in ``sending`` (the provider may
have the email), never go back to ``queued`` as if nothing had been sent.

Before the claim, the tenant must be active: a suspended tenant's rows stay ``queued`` untouched
(no attempt spent) until it is reactivated, and a task that finds no tenant at all (its schema is
gone) does nothing. The public schema's rows are the platform's own emails
(``services.queue_platform_email``): no tenant's status holds them.

A sensitive row's secrets are filled into the bodies here, in the email handed to the provider,
and the row's copy of them is wiped when it reaches ``sent`` or ``failed``; a row that goes back
to ``queued`` (a retry, a worker lost while sending) keeps them for its next submission.
"""

import logging
import random
import smtplib
import socket
import threading
import time
from collections import Counter
from datetime import timedelta

import structlog
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from config.logs import REQUEST_ID_HEADER
from tenant_apps.outbox import drain_marks, metrics, pacing
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.sensitive import MissingSecret, scrub
from tenant_apps.outbox.services import enqueue_send, request_drain
from tenants import activity
from tenants.models import Tenant

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

# A retry task's ETA and the row's next_attempt_at come from two clocks (producer and worker):
# a task may start this much before the row says it is due and still claim it.
CLOCK_SKEW = timedelta(seconds=5)

DEDUP_HEADER = "X-Outbox-Key"


class TransientError(Exception):
    """Worth trying again later: network, timeout, the provider's 5xx or 429."""


class PermanentError(Exception):
    """Trying again would fail the same way: invalid recipient, rejected request (4xx)."""


def classify(exc: BaseException) -> type[Exception]:
    """TransientError or PermanentError for an exception raised while submitting an email."""
    if isinstance(exc, (AnymailRecipientsRefused, MissingSecret)):
        return PermanentError
    if isinstance(exc, AnymailRequestsAPIError):
        status = exc.status_code
        # No status: the request never got an answer (connection refused, DNS, timeout).
        if status is None or status == 429 or status >= 500:
            return TransientError
        return PermanentError
    if isinstance(exc, AnymailError):
        # Unsupported feature, invalid address, configuration: the same message fails again.
        return PermanentError
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return PermanentError
    if isinstance(exc, smtplib.SMTPResponseException):
        # SMTP's codes are the other way round from HTTP's: 4xx is temporary, 5xx permanent.
        return TransientError if 400 <= exc.smtp_code < 500 else PermanentError
    if isinstance(exc, (OSError, socket.timeout, smtplib.SMTPException, SoftTimeLimitExceeded)):
        return TransientError
    # Unknown: retry, within the attempt limit, rather than drop an email on a surprise.
    return TransientError


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: base * 2**(attempts-1), capped, then drawn from its upper
    half, so retries of many rows failed together spread out instead of arriving in step."""
    ceiling = min(
        settings.OUTBOX_RETRY_MAX_SECONDS, settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    )
    return random.uniform(ceiling / 2, ceiling)


def claim(message_id: int) -> OutboxMessage | None:
    """``queued -> sending`` for a due row of an active tenant, in one statement, returning the row.

    The tenant's status is read in the same UPDATE (not from tenant-schemas-celery's cached Tenant,
    which may be seconds old): a tenant suspended or deleted a moment ago gets nothing claimed.
    One round trip instead of three (status, claim, re-read): about a third of a send's cost.
    """
    now = timezone.now()
    active, active_params = _tenant_is_active()
    rows = list(
        OutboxMessage.objects.raw(
            f"UPDATE {_table()} SET status = %s, attempts = attempts + 1, updated_at = %s "
            f"WHERE id = %s AND status = %s AND next_attempt_at <= %s {active}"
            f"RETURNING *",
            [Status.SENDING, now, message_id, Status.QUEUED, now + CLOCK_SKEW, *active_params],
        )
    )
    return rows[0] if rows else None


def claim_due(limit: int) -> list[OutboxMessage]:
    """``queued -> sending`` for up to ``limit`` due transactional rows of an active tenant, oldest
    due first, in one statement. SKIP LOCKED: two drains of one schema take disjoint rows. Rows
    not due yet (a retry's backoff) are left to their own task; bulk rows to theirs (paced)."""
    now = timezone.now()
    active, active_params = _tenant_is_active()
    table = _table()
    rows = OutboxMessage.objects.raw(
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, updated_at = %s "
        f"WHERE id IN (SELECT id FROM {table} WHERE status = %s AND NOT bulk AND next_attempt_at <= %s "
        f"{active}ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
        f"RETURNING *",
        [Status.SENDING, now, Status.QUEUED, now, *active_params, limit],
    )
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))


def _table() -> str:
    return connection.ops.quote_name(OutboxMessage._meta.db_table)


def _tenant_is_active() -> tuple[str, list]:
    """The claims' condition that the current schema's tenant is active, read in the claiming
    statement itself (not from tenant-schemas-celery's cached Tenant, which may be seconds old):
    a tenant suspended or deleted a moment ago gets nothing claimed. Empty in public: the
    platform's own emails have no tenant to be active."""
    if connection.schema_name == get_public_schema_name():
        return "", []
    quote = connection.ops.quote_name
    tenants = f"{quote(get_public_schema_name())}.{quote(Tenant._meta.db_table)}"
    return (
        f"AND EXISTS (SELECT 1 FROM {tenants} WHERE schema_name = %s AND status = %s) ",
        [connection.schema_name, Tenant.Status.ACTIVE],
    )


def is_http_backend() -> bool:
    """An anymail backend (the provider's HTTP API), as opposed to console or SMTP."""
    return settings.EMAIL_BACKEND.startswith(("anymail.", "tenant_apps.outbox.backends."))


def build_email(message: OutboxMessage) -> EmailMultiAlternatives:
    """The rendered row as a Django email, with what the provider and the webhooks need.

    - ``X-Outbox-Key: <dedup_key>`` header and ``metadata["dedup_key"]``: the same on every
      submission of the row. Resend de-duplicates on it (``backends.ResendEmailBackend`` sends it as
      Idempotency-Key); Postmark, SendGrid, Mailgun, SES and Brevo have no idempotency key on their
      send APIs, so there this is what a duplicate is recognised by.
    - ``metadata["tenant"]`` (schema name) and ``metadata["outbox_id"]``, and a ``tenant:<schema>`` tag:
      the tracking webhook finds the tenant and the row from them.
    - ``X-Request-ID``: the id of the request that queued the row, when one did (config/logs.py).
    Backends that are not anymail's (console, SMTP) ignore metadata and tags; SMTP gets a
    Message-ID made of the dedup_key, so a resent copy has the same Message-ID as the first.
    The bodies are the row's with its secrets filled in (MissingSecret if one is gone).
    """
    schema = connection.schema_name
    headers = {DEDUP_HEADER: message.dedup_key}
    if message.request_id:
        headers[REQUEST_ID_HEADER] = message.request_id
    if not is_http_backend():
        headers["Message-ID"] = f"<{message.dedup_key}@{settings.BASE_DOMAIN}>"
    text, html = message.delivered_bodies()
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=text,
        from_email=message.from_email,
        to=list(message.to),
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
    )
    if html:
        email.attach_alternative(html, "text/html")
    email.metadata = {"tenant": schema, "outbox_id": str(message.public_id), "dedup_key": message.dedup_key}
    email.tags = [f"tenant:{schema}"]
    return email


def provider_message_id(email: EmailMultiAlternatives) -> str:
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id:
        # One id for all recipients, or a set of per-recipient ids (batch sends).
        ids = status.message_id
        return ids if isinstance(ids, str) else ",".join(sorted(ids))
    return email.extra_headers.get("Message-ID", "")


_connections = threading.local()


def provider_connection():
    """The email backend of this worker thread, kept open across tasks for HTTP (anymail) backends:
    reusing the provider's keep-alive connection saves a TCP and TLS handshake per email. SMTP
    backends get a fresh connection per email (an idle SMTP session is dropped by servers)."""
    if not is_http_backend():
        return get_connection()
    key = (settings.EMAIL_BACKEND, repr(settings.ANYMAIL))
    cached = getattr(_connections, "backend", None)
    if cached is None or cached[0] != key:
        drop_provider_connection()
        backend = get_connection()
        backend.open()
        _connections.backend = cached = (key, backend)
    return cached[1]


def drop_provider_connection():
    cached = getattr(_connections, "backend", None)
    _connections.backend = None
    if cached is not None:
        cached[1].close()


def sending_refused() -> str | None:
    """Why the current schema's rows must not leave now, or None when its tenant is active."""
    schema = connection.schema_name
    if schema == get_public_schema_name():
        return None  # the platform's own outbox
    status = Tenant.objects.filter(schema_name=schema).values_list("status", flat=True).first()
    if status is None:
        return f"no tenant has the schema {schema}"
    if status != Tenant.Status.ACTIVE:
        return f"the tenant of {schema} is {status}: its emails wait until it is reactivated"
    return None


def deliver_message(message_id: int) -> str:
    """Claim, submit and record one row of the current schema (a tenant's, or the public one's
    for the platform's own emails). Returns what happened, for logs."""
    message = claim(message_id)
    if message is None:
        # Rare: say why (one more query). Unclaimed, a held row keeps its status and attempts;
        # reactivation or the recovery job enqueues it again.
        refused = sending_refused()
        if refused:
            logger.info("outbox message %s not sent: %s", message_id, refused)
            return "held"
        return "not claimed"
    [outcome] = submit([message])
    return outcome


def deliver_due() -> dict[str, int]:
    """The transactional drain of the current schema: claim its due rows in batches of
    OUTBOX_BATCH_SIZE and submit each batch, until none is left or this drain's share
    (OUTBOX_DRAIN_MAX_ROWS rows, OUTBOX_DRAIN_MAX_SECONDS) is spent; then the next drain is
    enqueued behind the other tenants' tasks. Returns how many rows ended how."""
    schema = connection.schema_name
    drain_marks.release(schema)  # before the first claim: see drain_marks
    outcomes: Counter = Counter()
    started = time.monotonic()
    while True:
        messages = claim_due(settings.OUTBOX_BATCH_SIZE)
        if not messages:
            if not outcomes and (refused := sending_refused()):
                logger.info("outbox of %s not sent: %s", schema, refused)
                outcomes["held"] += 1
            break
        outcomes.update(submit(messages))
        if len(messages) < settings.OUTBOX_BATCH_SIZE:
            break  # that was the last of them
        spent = time.monotonic() - started
        if outcomes.total() >= settings.OUTBOX_DRAIN_MAX_ROWS or spent >= settings.OUTBOX_DRAIN_MAX_SECONDS:
            request_drain(schema, again=True)
            break
    return dict(outcomes)


def submit(messages: list[OutboxMessage]) -> list[str]:
    """Submit claimed rows and record each one's result; their outcomes, in order ("sent",
    "retry", "failed"). One provider call for the lot where the backend batches."""
    emails: list = [None] * len(messages)
    errors: list[BaseException | None] = [None] * len(messages)
    for index, message in enumerate(messages):
        try:
            emails[index] = build_email(message)
        except Exception as exc:  # a secret gone missing: that row fails, the others go
            errors[index] = exc
    ready = [index for index, email in enumerate(emails) if email is not None]
    try:
        results = _send_all([emails[index] for index in ready])
    except Exception as exc:  # the backend itself failed (or the soft time limit hit): all retry
        results = [exc] * len(ready)
    for index, error in zip(ready, results, strict=True):
        errors[index] = error
    if any(error is not None for error in errors):
        drop_provider_connection()  # start the next emails on a fresh connection
    mark_sent(
        [
            (message, provider_message_id(email))
            for message, email, error in zip(messages, emails, errors, strict=True)
            if error is None
        ]
    )
    outcomes = []
    for message, email, error in zip(messages, emails, errors, strict=True):
        if error is None:
            outcomes.append("sent")
            continue
        # The row's own request id on the lines about it (a drain serves many requests' rows).
        with structlog.contextvars.bound_contextvars(
            **({"request_id": message.request_id} if message.request_id else {})
        ):
            outcomes.append(record_failure(message, error, describe_error(error, email)))
    return outcomes


def _send_all(emails) -> list[BaseException | None]:
    """Hand ``emails`` to the provider: None for each accepted, else what was raised for it."""
    backend = provider_connection()
    if len(emails) > 1 and hasattr(backend, "send_batch"):
        with metrics.provider_call():
            return backend.send_batch(emails)
    opened = backend.open()  # SMTP: one session for the lot (anymail's is open already)
    results: list[BaseException | None] = []
    try:
        for email in emails:
            email.connection = backend
            try:
                with metrics.provider_call():
                    email.send()
            except Exception as exc:  # every failure is classified and recorded
                results.append(exc)
            else:
                results.append(None)
    finally:
        if opened:
            backend.close()
    return results


def deliver_bulk_message(message_id: int, *, reserved: bool = False) -> str:
    """``deliver_message`` for bulk mail, paced per tenant (``tenant_apps.outbox.pacing``).

    Without a reservation, the row first reserves its tenant's next slot; a slot in the future
    moves the row's ``next_attempt_at`` there and enqueues this task again with that countdown and
    ``reserved=True``, and the worker goes on with other mail. A row that is not queued any more
    (sent, failed, claimed by another task) is left alone.
    """
    schema = connection.schema_name
    if not reserved and schema != get_public_schema_name():
        wait = pacing.reserve_slot(schema)
        if wait > 0:
            due = timezone.now() + timedelta(seconds=wait)
            if OutboxMessage.objects.filter(id=message_id, status=Status.QUEUED).update(next_attempt_at=due):
                enqueue_send(message_id, schema, bulk=True, countdown=wait, reserved=True)
                return "deferred"
            return "not claimed"
    return deliver_message(message_id)


def mark_sent(sent: list[tuple[OutboxMessage, str]]) -> None:
    """``sending -> sent`` with each row's provider message id, in one statement; the secrets go."""
    if not sent:
        return
    now = timezone.now()
    values = ", ".join(["(%s::bigint, %s)"] * len(sent))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} AS row SET status = %s, provider_message_id = sent.provider_id, "
            f"sent_at = %s, updated_at = %s, last_error = '', secret_values = '{{}}'::jsonb "
            f"FROM (VALUES {values}) AS sent (id, provider_id) WHERE row.id = sent.id AND row.status = %s",
            [
                Status.SENT,
                now,
                now,
                *(value for message, provider_id in sent for value in (message.id, provider_id[:255])),
                Status.SENDING,
            ],
        )
    for message, _ in sent:
        metrics.count(message.template, "sent")
    _count_for_tenant(activity.EMAILS_SENT, len(sent))


def describe_error(exc: BaseException, email) -> str:
    """The exception, plus each recipient's status when the provider reported one."""
    error = f"{type(exc).__name__}: {exc}"
    recipients = getattr(getattr(email, "anymail_status", None), "recipients", None) or {}
    statuses = ", ".join(f"{address}: {status.status}" for address, status in sorted(recipients.items()))
    return f"{error} ({statuses})" if statuses else error


def record_failure(message: OutboxMessage, exc: BaseException, error: str) -> str:
    kind = classify(exc)
    # A provider's error may quote what it was sent: no secret goes into the row or the log.
    error = scrub(error, message.secret_values)[:2000]
    now = timezone.now()
    if kind is TransientError and message.attempts < settings.OUTBOX_MAX_ATTEMPTS:
        delay = backoff_seconds(message.attempts)
        OutboxMessage.objects.filter(id=message.id, status=Status.SENDING).update(
            status=Status.QUEUED,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=error,
            updated_at=now,
        )
        logger.info(
            "outbox message %s: attempt %d failed (%s), retrying in %.1fs",
            message.id,
            message.attempts,
            error,
            delay,
        )
        enqueue_send(message.id, connection.schema_name, bulk=message.bulk, countdown=delay)
        metrics.count(message.template, "retry")
        return "retry"
    OutboxMessage.objects.filter(id=message.id, status=Status.SENDING).update(
        status=Status.FAILED, last_error=error, updated_at=now, secret_values={}
    )
    logger.warning("outbox message %s failed after %d attempt(s): %s", message.id, message.attempts, error)
    metrics.count(message.template, "failed")
    _count_for_tenant(activity.EMAILS_FAILED)
    return "failed"


def _count_for_tenant(kind: str, amount: int = 1) -> None:
    """Count emails for the busiest-tenants panels; the platform's own emails (the public
    schema's outbox) are no tenant's."""
    if connection.schema_name != get_public_schema_name():
        activity.count(kind, connection.schema_name, at_once=True, amount=amount)
