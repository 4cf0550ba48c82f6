"""The transactional outbox: one row per email, in the schema of the tenant that sends it.

A row is written in the caller's transaction with everything already rendered, so the worker that
sends it renders nothing and the email that leaves is the one that was committed. See
``tenant_apps.outbox.services`` for the life of a row and README.md, "Email delivery", for the
delivery guarantee. A sensitive row (one-time links) stores its bodies with placeholders and its
secrets apart: ``tenant_apps.outbox.sensitive``.
"""

import uuid

from django.db import models
from django.utils import timezone

from tenant_apps.outbox import sensitive


def new_dedup_key() -> str:
    return uuid.uuid4().hex


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"  # accepted by the provider
        DELIVERED = "delivered", "Delivered"  # the provider reported delivery (webhook)
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        FAILED = "failed", "Failed"  # never accepted: permanent error or retries exhausted

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    to = models.JSONField(default=list, help_text="Recipient addresses.")
    from_email = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320, blank=True)
    template = models.CharField(max_length=200, help_text='e.g. "accounts/invitation"')
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # True when the bodies hold placeholders for secrets (one-time links): nobody but the recipient
    # ever reads those, so the admin shows the row redacted and a resend mints fresh secrets.
    sensitive = models.BooleanField(default=False, editable=False)
    # {placeholder: value}. Never shown (not editable: no form or admin field; not serialized: no
    # dumpdata/export), read only by the worker building the email, emptied at sent or failed.
    secret_values = models.JSONField(default=dict, blank=True, editable=False, serialize=False)
    # How a failed sensitive row gets a fresh secret: {"call": dotted path of the owning app's
    # function, "model": "app_label.model", "pk": ...}; the function is called as call(actor, obj).
    # Emptied once used, so a failed email is renewed at most once.
    renewal = models.JSONField(default=dict, blank=True, editable=False)
    # Queued as bulk mail (services.is_bulk at the time): sent one row per task at its tenant's pace
    # (tenant_apps.outbox.pacing), never by the transactional drain (sending.deliver_due).
    bulk = models.BooleanField(default=False, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Submissions to the provider so far.")
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    # The same for every submission of this row, resends after a crash included: the provider
    # folds duplicates where it supports a key, and it ties a duplicate to its row in any case.
    dedup_key = models.CharField(max_length=64, unique=True, default=new_dedup_key, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The id of the request that queued the row (config/logs.py), sent in the email's X-Request-ID
    # header: the logs of the request, of its send task and the provider's copy of the email share
    # it. Empty for rows queued outside a request (beat's jobs, commands).
    request_id = models.CharField(max_length=128, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "outbox message"
        indexes = [
            # The recovery job's scan: rows queued or sending for too long.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next_idx"),
        ]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)} ({self.status})"

    def delivered_bodies(self) -> tuple[str, str]:
        """(text, html) as the recipient gets them: the secrets filled in. Raises
        sensitive.MissingSecret when a secret is gone (the row was sent or failed)."""
        return (
            sensitive.fill(self.body_text, self.secret_values),
            sensitive.fill(self.body_html, self.secret_values, html=True),
        )

    def readable_bodies(self) -> tuple[str, str]:
        """(text, html) as anyone else may read them: no secret, each placeholder said in words."""
        return sensitive.redact(self.body_text), sensitive.redact(self.body_html)
