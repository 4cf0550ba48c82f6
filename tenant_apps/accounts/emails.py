"""The emails of the accounts app, one small function each.

Templates live in ``templates/accounts/emails/<name>/`` as ``subject.txt``, ``body.txt`` and
``body.html``; every email has the text part. All of them leave through the transactional outbox
(tenant_apps.outbox): queued in the caller's transaction, branded with the current tenant, sent
by a worker after commit, retried, tracked and visible in the tenant admin.

The signup welcome carries no link worth stealing (the owner chose a password on the form). The
other three carry a one-time link that gives its holder the recipient's account (a password reset,
an owner's first password, an invitation with its role), so the link goes to the outbox as a
secret: the stored email, which owners and admins read in the tenant admin, shows it redacted,
and only the copy handed to the provider has it. Each names the function that mints a fresh link
when a failed copy is resent (the outbox calls it as ``function(actor, obj)``): a new reset token,
a new set-password link, the invitation resent with a rotated token (``invitations``' own rule).
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenant_apps.outbox.services import queue_email
from tenants.exports import operator_download_url
from tenants.models import TenantExport

RESEND_INVITATION = "tenant_apps.accounts.invitations.resend_invitation"


def send(name: str, to: str, context: dict, *, link: str, renew: tuple[str, object]) -> None:
    """Queue ``accounts/emails/<name>/`` rendered with ``context`` (plus ``tenant``) to ``to``, with
    ``link`` as its secret."""
    queue_email([to], f"accounts/{name}", context, secrets={"link": link}, renew=renew)


def set_password_link(user) -> str:
    """A one-time link on the current tenant's domain to choose a password. It stops working once
    the password changes (the token hashes it) or after PASSWORD_RESET_TIMEOUT."""
    path = reverse(
        "password_reset_confirm",
        urlconf="config.urls_tenant",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return connection.tenant.url(path)


def password_reset(user, link: str) -> None:
    send(
        "password_reset",
        user.email,
        {"user": user, "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
        link=link,
        renew=(f"{__name__}.renew_password_reset", user),
    )


def invitation(invitation, link: str) -> None:
    send(
        "invitation",
        invitation.email,
        {"invitation": invitation, "inviter": invitation.invited_by},
        link=link,
        renew=(RESEND_INVITATION, invitation),
    )


def owner_welcome(user, link: str) -> None:
    """To a new tenant's owner: the workspace is ready, and a one-time link to set a password."""
    send(
        "owner_welcome",
        user.email,
        {"user": user, "valid_days": settings.PASSWORD_RESET_TIMEOUT // 86400},
        link=link,
        renew=(f"{__name__}.renew_owner_welcome", user),
    )


def signup_welcome(user) -> None:
    """To the owner who just signed up: the workspace's address and where to sign in. It holds no
    secret (the owner chose their password on the signup form), so it is stored and shown whole."""
    queue_email(
        [user.email],
        "accounts/signup_welcome",
        {
            "user": user,
            "sign_in_url": connection.tenant.url(reverse("accounts:sign_in", urlconf="config.urls_tenant")),
        },
    )


def _check_renewable(user) -> None:
    if not user.is_active:
        raise ValidationError("The account is deactivated.")


def renew_password_reset(actor, user) -> None:
    """A failed reset email, sent again with a new token (the failed one's link was never shown)."""
    _check_renewable(user)
    password_reset(user, set_password_link(user))


def renew_owner_welcome(actor, user) -> None:
    """A failed welcome, sent again with a new set-password link."""
    _check_renewable(user)
    owner_welcome(user, set_password_link(user))


def export_ready(export) -> None:
    """TENANT_EXPORT_READY_HOOK: to whoever asked for the export, the page where they download it.
    The page needs their sign-in (the tenant admin for an owner, the global admin for an operator),
    so the link is no secret and the email is stored and shown whole. An operator's copy goes
    through this tenant's outbox too (README, "Exports")."""
    if not export.requested_by:  # an operator's export from the CLI without --email
        return
    if export.requested_via == TenantExport.Via.OWNER:
        download_url = connection.tenant.url(reverse("tenant_exports", urlconf="config.urls_tenant"))
        requester = "the workspace's owners"
    else:
        download_url = operator_download_url(export)
        requester = "platform operators"
    queue_email(
        [export.requested_by],
        "accounts/export_ready",
        {"export": export, "download_url": download_url, "requester": requester},
    )
