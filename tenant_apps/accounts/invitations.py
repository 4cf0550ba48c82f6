"""Invitations: an owner or admin invites an email address with a role; the invitee follows the
emailed link, chooses a name and a password, and becomes a user with that role.

The link carries a random token; only its SHA-256 hash is stored. Re-inviting an address that has
an open invitation resends it with a fresh token and expiry (the old link stops working);
revoking kills the link. Every write to an existing invitation (re-invite, resend, role change,
revoke) needs ``services.can_change_invitation``: an admin cannot replace an owner's invitation.
Emails are sent after the row is committed by this function's own transaction, so a failed
invitation sends nothing.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from tenant_apps.accounts import emails
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.services import (
    _assign_role,
    can_manage_users,
    check_can_change_invitation,
    check_can_grant,
    check_seat,
    validate_role,
)

logger = logging.getLogger(__name__)


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def accept_url(raw_token: str) -> str:
    path = reverse("accounts:accept_invitation", urlconf=settings.ROOT_URLCONF, kwargs={"token": raw_token})
    return connection.tenant.url(path)


def invitations_for(actor):
    """The invitations ``actor`` may see: all of them for owners and admins, none otherwise."""
    if not can_manage_users(actor):
        return Invitation.objects.none()
    return Invitation.objects.select_related("invited_by").order_by("-created_at")


def get_invitation_for(actor, public_id) -> Invitation:
    """Invitation.DoesNotExist for "no such invitation" and "not yours" alike."""
    return invitations_for(actor).get(public_id=public_id)


def _send(invitation: Invitation, raw_token: str) -> None:
    emails.invitation(invitation, accept_url(raw_token))


def _open_invitations(email: str):
    return Invitation.objects.filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True)


def check_invite(actor, email: str, role: str) -> str:
    """Raise PermissionDenied or ValidationError (keyed by field) for an invitation that
    ``invite`` would refuse; return the normalised email."""
    validate_role(role)
    check_can_grant(actor, role)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["This address already belongs to a user of this workspace."]})
    existing = _open_invitations(email).first()
    if existing is not None:
        check_can_change_invitation(actor, existing)
    # Re-inviting an address whose invitation still holds a seat takes no new one.
    check_seat(0 if existing is not None and existing.status == Invitation.Status.PENDING else 1)
    return email


def invite(actor, email: str, role: str) -> Invitation:
    """Invite ``email`` with ``role``, or resend the open invitation of that address (its role
    updated). Raises ValidationError if the address already belongs to a user of the workspace."""
    email = check_invite(actor, email, role)
    try:
        invitation, raw = _save_invitation(actor, email, role)
    except IntegrityError:
        # A concurrent invite of the same address created the open row first: resend that one.
        invitation, raw = _save_invitation(actor, email, role)
    _send(invitation, raw)
    logger.info("%s invited %s as %s", actor.email, email, role)
    return invitation


def _save_invitation(actor, email: str, role: str) -> tuple[Invitation, str]:
    raw, digest = _new_token()
    now = timezone.now()
    with transaction.atomic():
        invitation = _open_invitations(email).select_for_update().first()
        if invitation is None or invitation.status != Invitation.Status.PENDING:
            # A new seat, counted under the tenant row's lock (check_limit) against a concurrent one.
            check_seat()
        if invitation is None:
            invitation = Invitation(email=email)
        else:
            # Checked again under the row lock: the open invitation may have changed since check_invite.
            check_can_change_invitation(actor, invitation)
        invitation.role = role
        invitation.invited_by = actor
        invitation.token_hash = digest
        invitation.expires_at = now + timedelta(days=settings.INVITATION_EXPIRY_DAYS)
        invitation.sent_at = now
        invitation.send_count += 1
        invitation.save()
    return invitation, raw


def resend_invitation(actor, invitation: Invitation) -> Invitation:
    """Send the invitation again with a new link and a fresh expiry."""
    check_can_change_invitation(actor, invitation)
    if not invitation.is_open:
        raise ValidationError({"invitation": [f"This invitation has been {invitation.status}."]})
    return invite(actor, invitation.email, invitation.role)


def revoke_invitation(actor, invitation: Invitation) -> Invitation:
    check_can_change_invitation(actor, invitation)
    if invitation.accepted_at is not None:
        raise ValidationError({"invitation": ["This invitation has already been accepted."]})
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        logger.info("%s revoked the invitation of %s", actor.email, invitation.email)
    return invitation


def find_invitation(raw_token: str) -> Invitation | None:
    """The invitation of a link, whatever its status, or None for a token that never existed."""
    if not raw_token or len(raw_token) > 200:
        return None
    return Invitation.objects.filter(token_hash=hash_token(raw_token)).first()


def accept_invitation(raw_token: str, full_name: str, password: str):
    """Create the invitee's account with the invited role and close the invitation.

    Raises ValidationError keyed by field: ``invitation`` when the link is unknown, accepted,
    expired or revoked; ``full_name`` or ``password`` for bad input (Django's validators).
    """
    full_name = (full_name or "").strip()
    errors = {}
    if not full_name:
        errors["full_name"] = ["Your name is required."]
    elif len(full_name) > 150:
        errors["full_name"] = ["A name is at most 150 characters long."]
    User = get_user_model()
    with transaction.atomic():
        # The row lock makes a double submit (or two tabs) create one account, not two.
        invitation = (
            Invitation.objects.select_for_update().filter(token_hash=hash_token(raw_token or "")).first()
        )
        if invitation is None:
            raise ValidationError({"invitation": ["This invitation link is not valid."]})
        if invitation.status != Invitation.Status.PENDING:
            raise ValidationError({"invitation": [status_message(invitation)]})
        try:
            validate_password(password or "", user=User(email=invitation.email, full_name=full_name))
        except ValidationError as exc:
            errors["password"] = exc.messages
        if errors:
            raise ValidationError(errors)
        taken = ValidationError({"invitation": ["This address already belongs to a user of this workspace."]})
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise taken
        # The invitation held a seat, which the user now takes: refused only if the plan was
        # lowered below the seats taken since the invitation was sent.
        check_seat(0)
        try:
            with transaction.atomic():
                user = User.objects.create_user(invitation.email, password, full_name=full_name)
        except IntegrityError:  # created a moment ago through another door
            raise taken from None
        _assign_role(user, invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.user = user
        invitation.save(update_fields=["accepted_at", "user", "updated_at"])
    logger.info("%s accepted the invitation as %s", user.email, invitation.role)
    return user


def status_message(invitation: Invitation) -> str:
    """What the accept page says about a link that no longer works."""
    return {
        Invitation.Status.ACCEPTED: "This invitation has already been accepted. Sign in instead.",
        Invitation.Status.EXPIRED: (
            "This invitation has expired. Ask the person who invited you to send a new one."
        ),
        Invitation.Status.REVOKED: "This invitation has been revoked.",
    }.get(invitation.status, "")
