"""The transactional outbox: one row per email, in the schema of the tenant that sends it.

A row is written in the caller's transaction with everything already rendered, so the worker that
sends it renders nothing and the email that leaves is the one that was committed. See
``tenant_apps.outbox.services`` for the life of a row and README.md, "Email delivery", for the
delivery guarantee.
"""

import uuid

from django.db import models
from django.utils import timezone


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
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Submissions to the provider so far.")
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    # The same for every submission of this row, resends after a crash included: the provider
    # folds duplicates where it supports a key, and it ties a duplicate to its row in any case.
    dedup_key = models.CharField(max_length=64, unique=True, default=new_dedup_key, editable=False)
    next_attempt_at = models.DateTimeField(default=timezone.now)
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
