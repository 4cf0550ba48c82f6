"""The emails of the accounts app, one small function each.

Templates live in ``templates/accounts/emails/<name>/`` as ``subject.txt``, ``body.txt`` and
``body.html``; every email has the text part. All of them leave through the transactional outbox
(tenant_apps.outbox): queued in the caller's transaction, branded with the current tenant, sent
by a worker after commit, retried, tracked and visible in the tenant admin.
"""

from django.conf import settings

from tenant_apps.outbox.services import queue_email


def send(name: str, to: str, context: dict) -> None:
    """Queue ``accounts/emails/<name>/`` rendered with ``context`` (plus ``tenant``) to ``to``."""
    queue_email([to], f"accounts/{name}", context)


def password_reset(user, link: str) -> None:
    send(
        "password_reset",
        user.email,
        {"user": user, "link": link, "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
    )


def invitation(invitation, link: str) -> None:
    send(
        "invitation",
        invitation.email,
        {"invitation": invitation, "link": link, "inviter": invitation.invited_by},
    )


def owner_welcome(user, link: str) -> None:
    """To a new tenant's owner: the workspace is ready, and a one-time link to set a password."""
    send("owner_welcome", user.email, {"user": user, "link": link,
                                       "valid_days": settings.PASSWORD_RESET_TIMEOUT // 86400})
