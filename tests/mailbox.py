"""``mail.outbox`` for the transactional outbox: in a test, ``from tests.mailbox import mail``.

Every email the platform sends is a row of the outbox in a tenant's schema, queued in the
caller's transaction (the worker path has its own tests in tests/outbox). This reads the rows of
every tenant, oldest first, and shows each like Django's EmailMessage (to, subject, body,
alternatives), so a test reads the exact text a person would receive.
"""

from dataclasses import dataclass

from django_tenants.utils import tenant_context


@dataclass
class QueuedEmail:
    to: list[str]
    subject: str
    body: str
    alternatives: list[tuple[str, str]]
    from_email: str
    reply_to: str
    template: str


def _as_received(row) -> QueuedEmail:
    """The email as its recipient gets it: a sensitive row's one-time links filled in, as the
    worker does for the provider (once sent or failed, the row no longer has them)."""
    from tenant_apps.outbox.sensitive import MissingSecret

    try:
        text, html = row.delivered_bodies()
    except MissingSecret:
        text, html = row.readable_bodies()
    return QueuedEmail(
        row.to,
        row.subject,
        text,
        [(html, "text/html")] if html else [],
        row.from_email,
        row.reply_to,
        row.template,
    )


class _Outbox:
    def _messages(self) -> list[QueuedEmail]:
        from tenant_apps.outbox.models import OutboxMessage
        from tenants.models import Tenant

        rows = []
        for tenant in Tenant.objects.all():
            with tenant_context(tenant):
                rows += list(OutboxMessage.objects.all())
        rows.sort(key=lambda row: (row.created_at, row.pk))
        return [_as_received(row) for row in rows]

    def __getitem__(self, index):
        return self._messages()[index]

    def __len__(self):
        return len(self._messages())

    def __iter__(self):
        return iter(self._messages())

    def __eq__(self, other):
        return self._messages() == list(other)

    def __repr__(self):
        return repr(self._messages())


class mail:
    outbox = _Outbox()
