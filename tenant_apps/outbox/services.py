"""The outbox's rules: queue an email, resend a failed one, recover rows that stalled.

The life of a row::

    queued --claim--> sending --accepted--> sent --webhook--> delivered | bounced | complained
       ^                 |
       +-- transient ----+ (attempts < OUTBOX_MAX_ATTEMPTS, after a backoff with jitter)
                         +-- permanent, or transient with no attempts left --> failed

``queue_email`` writes the row in the caller's transaction and enqueues sending only after that
transaction commits (a drain of the schema for transactional mail, ``request_drain``; a paced
task of its own for bulk mail), so a rolled-back request sends nothing and a committed one always
has its row. If the broker is down then, the request still succeeds and the row waits, queued, for
``recover_stalled`` (run by beat for every active tenant), which also re-queues rows left in
``sending`` by a worker that died. A suspended tenant's rows wait, queued, until it is
reactivated (``release_queued`` then sends them at once). Sending itself is in
``tenant_apps.outbox.sending``; this module never imports it nor the tasks (the send task is put on
the broker by name), so the three modules depend one way: tasks -> sending -> services.

Emails with one-time links are *sensitive* (``secrets=``): see ``tenant_apps.outbox.sensitive``.

The platform's own emails (to a visitor of the root domain, about no one tenant: "your
workspaces") go through ``queue_platform_email`` into the *public* schema's outbox: the app is in
SHARED_APPS as well as TENANT_APPS, so the public schema has its own table, and the same send
task, claim, retries, recovery and webhooks serve it (a task enqueued there runs in public). Not
a tenant's outbox: its owners and admins read theirs, and an email listing every workspace of an
address must not show up in one of them.
"""

import contextvars
import logging
from contextlib import contextmanager
from datetime import timedelta
from email.utils import formataddr, parseaddr
from fnmatch import fnmatchcase

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.module_loading import import_string
from django_tenants.utils import get_public_schema_name

from config.celery import app
from config.logs import current_request_id
from tenant_apps.outbox import drain_marks, sensitive
from tenant_apps.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

SEND_TASK = "outbox.send_message"
# The transactional drain: a schema's due rows, claimed and submitted in batches (request_drain).
SEND_QUEUED_TASK = "outbox.send_queued"
# Bulk mail: its own task name, so it is routed to its own queue (config/task_routes.py) and paced
# per tenant (tenant_apps/outbox/pacing.py).
SEND_BULK_TASK = "outbox.send_bulk_message"

# A broker blip is absorbed; a broker that is down costs the request about a second, not a hang.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# Only functions of the tenant apps may be named by a row's renewal (it is called by dotted path).
RENEWAL_PREFIX = "tenant_apps."

# Rows queued while a renewal runs, so the renewal can check what it queued (see _renew).
_queued_now: contextvars.ContextVar[list | None] = contextvars.ContextVar("outbox_queued_now", default=None)


def is_bulk(template: str) -> bool:
    """Whether rows of ``template`` are bulk mail (OUTBOX_BULK_TEMPLATES, fnmatch patterns): sent
    many at once by one act or a schedule, and fine to wait behind mail a person waits for."""
    return any(fnmatchcase(template, pattern) for pattern in settings.OUTBOX_BULK_TEMPLATES)


class CannotResend(Exception):
    """A failed message that cannot be queued again; the message says why, for the admin."""


def can_read_outbox(user) -> bool:
    return bool(
        user and user.is_authenticated and user.is_active and user.has_perm("outbox.view_outboxmessage")
    )


def can_resend_messages(user) -> bool:
    return bool(
        user and user.is_authenticated and user.is_active and user.has_perm("outbox.change_outboxmessage")
    )


def _current_tenant():
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == get_public_schema_name():
        raise RuntimeError(
            "queue_email needs a tenant's schema: call it inside the tenant's request or "
            "tenant_context(tenant)."
        )
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
    app_label, _, name = template.partition("/")
    if not app_label or not name:
        raise ValueError(f'template must look like "<app>/<name>", not {template!r}')
    folder = f"{app_label}/emails/{name}"
    subject = " ".join(render_to_string(f"{folder}/subject.txt", context).split())
    text = render_to_string(f"{folder}/body.txt", context)
    try:
        html = render_to_string(f"{folder}/body.html", context)
    except TemplateDoesNotExist:
        html = ""
    return subject, text, html


def queue_email(
    to: list[str],
    template: str,
    context: dict,
    *,
    reply_to: str | None = None,
    secrets: dict[str, str] | None = None,
    renew: tuple[str, object] | None = None,
) -> OutboxMessage:
    """Render an email now, branded for the current tenant, and queue it for sending.

    The row is written in the caller's transaction; the send task is enqueued when that transaction
    commits (at once in autocommit). ``context`` gets ``tenant``. From name: the tenant's
    email_from_name or name; reply-to: ``reply_to`` or the tenant's email_reply_to.

    ``secrets`` (``{"link": one_time_link}``) makes the email sensitive: the templates see a
    placeholder under each name, the stored bodies never hold the values, and only the email
    handed to the provider gets them (``tenant_apps.outbox.sensitive``). A secret belongs in the
    bodies, never in the subject, and only through ``secrets``. ``renew`` is
    ``("<dotted path>", obj)``: the owning app's function that sends this email again with a fresh
    secret, called as ``function(actor, obj)`` when a failed copy is resent; without it a failed
    sensitive email cannot be resent.
    """
    if isinstance(to, str):
        to = [to]
    if not to:
        raise ValueError("an email needs at least one recipient")
    secrets = dict(secrets or {})
    for name, value in secrets.items():
        if not sensitive.NAME_RE.fullmatch(name) or not isinstance(value, str) or not value:
            raise ValueError(f"secret {name!r}: a name like a variable and a non-empty string value")
    tenant = _current_tenant()
    return _queue(
        to,
        template,
        {"tenant": tenant, **context},
        from_email=sender_for(tenant),
        reply_to=reply_to or tenant.email_reply_to or "",
        secrets=secrets,
        renew=renew,
    )


def queue_platform_email(to: list[str], template: str, context: dict) -> OutboxMessage:
    """``queue_email`` for the platform's own emails, in the public schema's outbox (see the
    module's docstring): from DEFAULT_FROM_EMAIL, no tenant's brand, no secrets (none of the
    platform's emails carries a one-time link). Raises RuntimeError outside the public schema, so
    a tenant's email never lands in the platform's outbox by mistake."""
    if connection.schema_name != get_public_schema_name():
        raise RuntimeError("queue_platform_email runs in the public schema, not in a tenant's.")
    if isinstance(to, str):
        to = [to]
    if not to:
        raise ValueError("an email needs at least one recipient")
    return _queue(to, template, dict(context), from_email=settings.DEFAULT_FROM_EMAIL, reply_to="")


def _queue(to, template, context, *, from_email, reply_to, secrets=None, renew=None) -> OutboxMessage:
    secrets = dict(secrets or {})
    placeholders = sensitive.placeholders_for(secrets)
    subject, text, html = render_email(template, {**context, **placeholders})
    for name, value in secrets.items():
        if placeholders[name] not in text:
            raise ValueError(f"the text part of {template} does not use the secret {name!r}")
        if placeholders[name] in subject:
            raise ValueError(f"the subject of {template} shows the secret {name!r}: the admin lists subjects")
        if any(value in part for part in (subject, text, html)) or escape(value) in html:
            raise ValueError(
                f"{template} was rendered with the value of the secret {name!r}: pass it only "
                "through secrets="
            )
    fields = {}
    if secrets:
        values = {placeholders[name]: value for name, value in secrets.items()}
        fields = {"sensitive": True, "secret_values": values, "renewal": _renewal(renew)}
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            to=list(to),
            from_email=from_email,
            reply_to=reply_to,
            template=template,
            subject=subject,
            body_text=text,
            body_html=html,
            request_id=current_request_id() or "",
            bulk=is_bulk(template),
            **fields,
        )
    enqueue_after_commit(message.id, bulk=message.bulk)
    queued_now = _queued_now.get()
    if queued_now is not None:
        queued_now.append(message)
    return message


def _renewal(renew) -> dict:
    if renew is None:
        return {}
    path, obj = renew
    if not path.startswith(RENEWAL_PREFIX):
        raise ValueError(f"a renewal names a function of the tenant apps, not {path!r}")
    return {"call": path, "model": obj._meta.label_lower, "pk": obj.pk}


def enqueue_after_commit(message_id: int, *, bulk: bool = False) -> None:
    """Once the caller's transaction commits: a bulk row gets its own paced send task, a
    transactional one asks for a drain of its schema (``request_drain``)."""
    # The schema is captured now: the transaction may commit after the caller left tenant_context.
    schema = connection.schema_name
    if bulk:
        transaction.on_commit(lambda: enqueue_send(message_id, schema, bulk=True))
    else:
        transaction.on_commit(lambda: request_drain(schema))


def request_drain(schema: str, *, again: bool = False) -> bool:
    """Make sure a drain of ``schema`` (``SEND_QUEUED_TASK``: its due transactional rows, sent in
    batches) is on its way: enqueue one unless one is pending already (``drain_marks``).
    ``again``: a drain that stopped at its share enqueues the next one, whatever the mark says.

    Never raises for a broker that is down: the rows stay queued for ``recover_stalled``. Returns
    whether a drain is on its way."""
    if not again and not drain_marks.claim(schema):
        return True  # the pending drain claims after this row's commit (see drain_marks)
    try:
        app.send_task(
            SEND_QUEUED_TASK, headers={"_schema_name": schema}, retry=True, retry_policy=ENQUEUE_RETRY_POLICY
        )
    except Exception:  # kombu's OperationalError, redis' ConnectionError, a DNS failure...
        if not again:
            drain_marks.release(schema)  # else later rows would count on a drain that never comes
        logger.warning(
            "could not enqueue a drain of %s's outbox; its rows stay queued for the recovery job",
            schema,
            exc_info=True,
        )
        return False
    return True


def enqueue_send(
    message_id: int,
    schema: str,
    *,
    bulk: bool = False,
    countdown: float | None = None,
    reserved: bool = False,
) -> bool:
    """Put a send task on the broker for the row ``message_id`` of ``schema``: the transactional
    task, or with ``bulk`` the paced bulk one (``reserved``: the row holds its pacing slot already).

    Never raises for a broker that is down: the row stays queued and ``recover_stalled`` enqueues
    it again later. Returns whether the task reached the broker.
    """
    try:
        app.send_task(
            SEND_BULK_TASK if bulk else SEND_TASK,
            (message_id,),
            {"reserved": True} if reserved else None,
            countdown=countdown,
            headers={"_schema_name": schema},
            retry=True,
            retry_policy=ENQUEUE_RETRY_POLICY,
        )
    except Exception:  # kombu's OperationalError, redis' ConnectionError, a DNS failure...
        logger.warning(
            "could not enqueue outbox message %s of %s; it stays queued for the recovery job",
            message_id,
            schema,
            exc_info=True,
        )
        return False
    return True


def resend(actor, message: OutboxMessage) -> bool:
    """Queue a failed message again with a fresh attempt budget. Returns False if it was not failed
    (someone else resent it first, or it was sent meanwhile).

    A sensitive message is not replayed (its secrets were wiped when it failed, and a link that may
    have leaked must not be sent again): the owning app's function sends a new email with a fresh
    secret (``_renew``). Raises PermissionDenied, or CannotResend saying why it cannot be renewed.
    """
    if not can_resend_messages(actor):
        raise PermissionDenied
    if message.sensitive:
        return _renew(actor, message)
    now = timezone.now()
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, status=Status.FAILED, sensitive=False).update(
            status=Status.QUEUED, attempts=0, next_attempt_at=now, last_error="", updated_at=now
        )
        if updated:
            enqueue_after_commit(message.pk, bulk=message.bulk)
    return bool(updated)


@contextmanager
def _collect_queued():
    queued: list[OutboxMessage] = []
    token = _queued_now.set(queued)
    try:
        yield queued
    finally:
        _queued_now.reset(token)


def _renew(actor, message: OutboxMessage) -> bool:
    """Have the owning app send a failed sensitive email again, with a fresh secret: a new reset
    token, a rotated invitation token, a new set-password link. The failed row stays failed and
    says what replaced it; it is renewed at most once.

    The new email must go to the same recipients as the failed one: a renewal never redirects a
    fresh link to an address changed since (by whoever may change addresses).
    """
    renewal = message.renewal or {}
    if not renewal:
        if message.status == Status.FAILED:
            raise CannotResend("it carried a one-time link and cannot be renewed (or was renewed already)")
        return False
    with transaction.atomic():
        # The claim: a second resend, by anyone, finds the renewal gone.
        claimed = (
            OutboxMessage.objects.filter(pk=message.pk, status=Status.FAILED, sensitive=True)
            .exclude(renewal={})
            .update(renewal={}, updated_at=timezone.now())
        )
        if not claimed:
            return False
        function = _renewal_function(renewal["call"])
        try:
            obj = apps.get_model(renewal["model"])._default_manager.get(pk=renewal["pk"])
        except (LookupError, ObjectDoesNotExist):
            raise CannotResend("what it was about no longer exists") from None
        try:
            with _collect_queued() as queued, transaction.atomic():
                function(actor, obj)
                fresh = [new for new in queued if new.sensitive]
                if not fresh:
                    raise CannotResend("its app sent nothing new")
                if any(sorted(new.to) != sorted(message.to) for new in fresh):
                    raise CannotResend("the recipient's address changed since it was sent")
        except (ValidationError, PermissionDenied) as exc:
            raise CannotResend(_reason(exc)) from exc
        note = f"Renewed: sent again with a fresh link as {fresh[0].public_id}."
        OutboxMessage.objects.filter(pk=message.pk).update(last_error=f"{message.last_error}\n{note}".strip())
    logger.info("outbox message %s renewed as %s", message.public_id, fresh[0].public_id)
    return True


def _renewal_function(path: str):
    if not path.startswith(RENEWAL_PREFIX):
        raise CannotResend("its renewal is not a function of the tenant apps")
    try:
        return import_string(path)
    except ImportError:
        raise CannotResend("its renewal function no longer exists") from None


def _reason(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "you may not do that"


def release_queued() -> int:
    """Enqueue, in the current tenant's schema, every queued row that is due: what waited while the
    tenant was suspended leaves as soon as it is reactivated. Returns how many."""
    now = timezone.now()
    due = list(
        OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now).values_list(
            "id", "bulk"
        )[:10000]
    )
    for message_id, bulk in due:
        enqueue_after_commit(message_id, bulk=bulk)
    if due:
        logger.info("outbox of %s: %d queued message(s) released", connection.schema_name, len(due))
    return len(due)


def recover_stalled() -> dict[str, int]:
    """Enqueue again, in the current tenant's schema, what should have left already.

    - ``queued`` rows whose attempt was due more than OUTBOX_QUEUED_GRACE_SECONDS ago: their task
      never reached the broker (it was down) or was lost, or the tenant was suspended when it ran.
      Their ``next_attempt_at`` moves to now, so the next run waits another grace period before
      enqueuing them once more.
    - ``sending`` rows not touched for OUTBOX_SENDING_TIMEOUT_SECONDS: the worker died between
      its claim and its status write, possibly after the provider accepted the email. They go back
      to ``queued`` and are sent again with the same dedup_key (at-least-once; see README.md,
      "Email delivery"), and with their secrets, kept until the row is sent or failed. The timeout
      is longer than the task's hard time limit, so a live worker's row is never taken from it. A
      row already claimed OUTBOX_MAX_ATTEMPTS times is failed instead.

    Enqueuing another task for a row that already has one is harmless: only one claim wins.
    """
    now = timezone.now()
    queued_cutoff = now - timedelta(seconds=settings.OUTBOX_QUEUED_GRACE_SECONDS)
    sending_cutoff = now - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS)
    with transaction.atomic():
        late = dict(
            OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lt=queued_cutoff).values_list(
                "id", "bulk"
            )[:1000]
        )
        if late:
            OutboxMessage.objects.filter(id__in=list(late), status=Status.QUEUED).update(next_attempt_at=now)
        stuck = dict(
            OutboxMessage.objects.filter(status=Status.SENDING, updated_at__lt=sending_cutoff).values_list(
                "id", "bulk"
            )[:1000]
        )
        requeued = {}
        for message_id, bulk in stuck.items():
            # Conditional: a worker that was only slow may have written its result meanwhile.
            still_stuck = OutboxMessage.objects.filter(
                id=message_id, status=Status.SENDING, updated_at__lt=sending_cutoff
            )
            # A row that kills its worker every time must not loop forever: its attempts run out too.
            if still_stuck.filter(attempts__gte=settings.OUTBOX_MAX_ATTEMPTS).update(
                status=Status.FAILED,
                updated_at=now,
                secret_values={},
                last_error="the worker was lost while sending, on every attempt (the provider may have it)",
            ):
                continue
            if still_stuck.update(
                status=Status.QUEUED,
                next_attempt_at=now,
                updated_at=now,
                last_error="re-queued: the worker was lost while sending",
            ):
                requeued[message_id] = bulk
        for message_id, bulk in {**late, **requeued}.items():
            enqueue_after_commit(message_id, bulk=bulk)
    if late or requeued:
        logger.warning(
            "outbox recovery in %s: %d late queued, %d stuck sending re-queued",
            connection.schema_name,
            len(late),
            len(requeued),
        )
    return {"queued": len(late), "sending": len(requeued)}


def on_tenant_saved(sender, instance, created, update_fields=None, **kwargs):
    """post_save of Tenant: a tenant saved active (reactivated, most often) gets its waiting
    emails released at once, after the commit, instead of at the recovery job's next pass."""
    if created or instance.status != instance.Status.ACTIVE:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    schema = instance.schema_name
    transaction.on_commit(lambda: _enqueue_release(schema))


def _enqueue_release(schema: str) -> None:
    try:
        app.send_task(
            "outbox.release_queued",
            headers={"_schema_name": schema},
            retry=True,
            retry_policy=ENQUEUE_RETRY_POLICY,
        )
    except Exception:  # the broker is down: the recovery job releases them later
        logger.warning("could not enqueue the release of %s's queued emails", schema, exc_info=True)
