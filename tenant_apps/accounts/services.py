"""The rules of a workspace's accounts: roles, who manages whom, deactivation, API sign-in.

Every door (the tenant admin, the API, provisioning, the demo seed) goes through these functions.
They run in the schema the connection is in, which the request's host (or ``tenant_context``)
decides. Rule violations raise Django's ValidationError keyed by field, or PermissionDenied.
"""

import logging

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from knox.models import AuthToken

from tenant_apps.accounts.roles import MANAGE_OWNERS, MANAGE_USERS, STAFF_ROLES, VIEW_USERS, Role, role_of
from tenants import limits, second_factor
from tenants.services import can_operate_platform

logger = logging.getLogger(__name__)

LAST_OWNER_MESSAGE = "A workspace must always have at least one owner."


# --- Who may do what ----------------------------------------------------------------------------
# One predicate per act. The API's permission classes, the tenant admin's has_*_permission methods
# and the services below call these; none of them restates a rule.


def can_view_users(user) -> bool:
    """See the workspace's directory of users: every role. An account without a role (half-created,
    or its role taken away) sees nothing but itself."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW_USERS))


def can_manage_users(user) -> bool:
    """Invite people, see invitations, change roles and deactivate accounts: owners and admins."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE_USERS))


def can_manage_owners(user) -> bool:
    """Grant or remove the owner role: owners only (an admin cannot promote themselves)."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE_OWNERS))


def can_grant_role(actor, role: str) -> bool:
    """Hand out ``role``, to a user or in an invitation."""
    return can_manage_users(actor) and (role != Role.OWNER or can_manage_owners(actor))


def can_change_user(actor, user) -> bool:
    """Change ``user``'s role or deactivate them: only owners touch an owner."""
    return can_grant_role(actor, role_of(user) or Role.MEMBER)


def can_change_invitation(actor, invitation) -> bool:
    """Any write to an existing invitation: re-inviting its address, resending it, changing its role,
    revoking it. Only owners touch an owner's invitation, or an admin could replace a pending owner
    invitation with one of their own choosing."""
    return can_grant_role(actor, invitation.role)


def can_export_workspace(user) -> bool:
    """Start an export of the workspace's data and download its archives: owners only (an archive
    holds every user's and every project's data)."""
    return bool(user and user.is_authenticated and user.is_active and role_of(user) == Role.OWNER)


def can_require_two_factor(user) -> bool:
    """Turn the workspace's "two-factor sign-in for everyone" on or off: owners only
    (tenant_apps/accounts/two_factor.py ``set_policy`` adds: only with two-factor of their own)."""
    return bool(user and user.is_authenticated and user.is_active and role_of(user) == Role.OWNER)


def _refuse(actor) -> None:
    """Raise the PermissionDenied that explains why ``actor`` was refused by a predicate above."""
    if not can_manage_users(actor):
        raise PermissionDenied("Only owners and admins manage users.")
    raise PermissionDenied("Only an owner can grant or remove the owner role.")


def check_can_grant(actor, role: str) -> None:
    """Raise PermissionDenied unless ``actor`` may hand out ``role``."""
    if not can_grant_role(actor, role):
        _refuse(actor)


def check_can_change_user(actor, user) -> None:
    if not can_change_user(actor, user):
        _refuse(actor)


def check_can_change_invitation(actor, invitation) -> None:
    if not can_change_invitation(actor, invitation):
        _refuse(actor)


def validate_role(role) -> str:
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    return role


def users_for(actor):
    """The workspace's users as ``actor`` may see them (every role sees the directory)."""
    if not can_view_users(actor):
        return get_user_model().objects.none()
    return get_user_model().objects.prefetch_related("groups").order_by("email")


def get_user_for(actor, public_id):
    """The user with this public id, or User.DoesNotExist: the API answers both "no such user" and
    "someone else's user" with the same 404."""
    return users_for(actor).get(public_id=public_id)


def _assign_role(user, role: str) -> None:
    """Put ``user`` in exactly the group of ``role``; owners and admins may use the tenant admin."""
    groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*[g for g in groups if g.name != role])
    user.groups.add(next(g for g in groups if g.name == role))
    user.is_staff = role in STAFF_ROLES
    # Roles are the only source of permissions: a superuser flag would outlive a demotion.
    user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser", "updated_at"])
    # Django caches permissions on the instance.
    for attribute in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)
    user._prefetched_objects_cache = {}


def _other_active_owners_exist(user) -> bool:
    """Lock every active owner row first, so two concurrent demotions of the last two owners
    cannot both see "one other owner left"."""
    User = get_user_model()
    owners = list(
        User.objects.select_for_update(of=("self",))
        .filter(groups__name=Role.OWNER, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return any(pk != user.pk for pk in owners)


# --- The plan's limit on users ------------------------------------------------------------------
# A seat is an active user or an open invitation (not accepted, revoked or expired): inviting takes
# a seat, so an admin learns of the limit when inviting, not the invitee when accepting; accepting
# turns the invitation's seat into the user's. Deactivated users and closed invitations free theirs.


def seats_by_schema(schemas) -> dict[str, int]:
    """The seats taken in each schema (TENANT_USAGE_COUNTERS["users"]), in one statement: one
    SELECT per schema joined with UNION ALL, like tenants.services.query_each_schema (which reads
    one table; a seat is in two)."""
    schemas = sorted(schemas)
    if not schemas:
        return {}
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"(SELECT %s, (SELECT count(*) FROM {quote(schema)}.accounts_user WHERE is_active) + "
        f"(SELECT count(*) FROM {quote(schema)}.accounts_invitation WHERE accepted_at IS NULL "
        "AND revoked_at IS NULL AND expires_at > now()))"
        for schema in schemas
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, schemas)
        return dict(cursor.fetchall())


def check_seat(adding: int = 1) -> None:
    """PlanLimitReached (a PermissionDenied with the reason) if the workspace's plan has no room
    for ``adding`` more seats."""
    limits.check_limit(None, "users", adding)


def create_user_with_role(
    email: str, role: str, *, password: str | None = None, full_name: str = "", within_plan: bool = True
):
    """A new active user holding ``role``. A password, if given, must pass Django's validators
    (ValidationError keyed ``password``); without one the user gets an unusable password. The user
    takes a seat of the plan (PlanLimitReached when none is left) unless ``within_plan`` is False:
    the first owner, whom provisioning always creates."""
    validate_role(role)
    User = get_user_model()
    with transaction.atomic():
        if within_plan:
            check_seat()
        user = User.objects.create_user(email, None, full_name=full_name)
        if password:
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
            user.set_password(password)
            user.save(update_fields=["password"])
        _assign_role(user, role)
    return user


def create_owner(email: str, password: str | None = None, full_name: str = ""):
    """The first owner of a new workspace (called by tenants.services.provision_tenant)."""
    # A workspace always has its owner: provisioning is never refused by the plan it starts on.
    return create_user_with_role(email, Role.OWNER, password=password, full_name=full_name, within_plan=False)


def set_role(actor, user, role: str) -> None:
    """Change ``user``'s role on behalf of ``actor``.

    Owners and admins manage users; only owners grant or remove the owner role; the last active
    owner keeps it.
    """
    validate_role(role)
    current = role_of(user)
    check_can_change_user(actor, user)
    check_can_grant(actor, role)
    if current == role:
        return
    with transaction.atomic():
        if current == Role.OWNER and user.is_active and not _other_active_owners_exist(user):
            raise ValidationError({"role": [LAST_OWNER_MESSAGE]})
        _assign_role(user, role)
    logger.info("%s changed the role of %s from %s to %s", actor.email, user.email, current, role)


def deactivate_user(actor, user) -> None:
    """Deactivate ``user``: they can no longer sign in, and every API token of theirs is revoked.

    Sessions die with the flag (the auth backend refuses inactive users on every request).
    """
    role = role_of(user)
    check_can_change_user(actor, user)
    if not user.is_active:
        return
    with transaction.atomic():
        if role == Role.OWNER and not _other_active_owners_exist(user):
            raise ValidationError({"user": [LAST_OWNER_MESSAGE]})
        user.is_active = False
        user.save(update_fields=["is_active", "updated_at"])
        AuthToken.objects.filter(user=user).delete()
    logger.info("%s deactivated %s", actor.email, user.email)


def reactivate_user(actor, user) -> None:
    """Let a deactivated ``user`` sign in again, with the role they held.

    The same people who may deactivate them may bring them back (only owners touch an owner).
    A returning user takes a seat of the plan again (PlanLimitReached when none is left); the
    seat is counted under the tenant row's lock, as for a new user. Their old API tokens are gone
    for good: deactivation deleted them.
    """
    check_can_change_user(actor, user)
    if user.is_active:
        return
    with transaction.atomic():
        check_seat()
        user.is_active = True
        user.save(update_fields=["is_active", "updated_at"])
    logger.info("%s reactivated %s", actor.email, user.email)


def sign_in_for_token(request, email: str, password: str, code: str = "", *, operators_only: bool = False):
    """Check credentials for an API token and issue one: ``(AuthToken, raw token)``.

    ``request`` is Django's HttpRequest (not DRF's), so django-axes counts the attempt against
    the account and the client address and can flag a lockout on it. Raises ValidationError
    with a single non-field message for any wrong email or password, so accounts cannot be
    probed. Then, as every door: a user with a second factor, or on a workspace (operators: a
    platform) that requires one, gives ``code`` (a field error on ``code`` otherwise; wrong codes
    are throttled, tenants/second_factor.py).
    """
    user = authenticate(request, username=(email or "").strip().lower(), password=password)
    if user is None or (operators_only and not can_operate_platform(user)):
        raise ValidationError({"non_field_errors": ["Unable to sign in with this email and password."]})
    if operators_only:
        required = settings.OPERATOR_TWO_FACTOR_REQUIRED
    else:
        required = bool(getattr(connection.tenant, "two_factor_required", False))
    second_factor.check_token_code(user, code, required=required)
    issued = AuthToken.objects.create(user=user)
    # As a session sign-in does: updates last_login, and axes clears the failure count.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return issued


def revoke_token(token) -> None:
    token.delete()


# --- The signed-in user's own profile and tokens (the /account/ page) ----------------------------

FULL_NAME_MAX_LENGTH = 150


def update_profile(user, *, full_name: str) -> None:
    """Change ``user``'s own name. ValidationError keyed ``full_name``: required, at most 150
    characters, printable text only (a NUL or a control character is refused, not stored)."""
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationError({"full_name": ["Your name is required."]})
    if len(full_name) > FULL_NAME_MAX_LENGTH:
        raise ValidationError({"full_name": [f"A name is at most {FULL_NAME_MAX_LENGTH} characters long."]})
    if not full_name.isprintable():
        raise ValidationError({"full_name": ["A name cannot contain control characters."]})
    user.full_name = full_name
    user.save(update_fields=["full_name", "updated_at"])


TOKEN_PREFIX_LENGTH = 8


def tokens_of(user):
    """``user``'s own API tokens that still work, the newest first."""
    return (
        AuthToken.objects.filter(user=user)
        .filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))
        .order_by("-created")
    )


def token_prefix(token) -> str:
    """What a page shows of a token, to its owner only: the first characters of its public key
    (knox's token_key), which name it but cannot authenticate."""
    return token.token_key[:TOKEN_PREFIX_LENGTH]


def get_token_for(user, prefix: str):
    """``user``'s own working token shown as ``prefix``, or AuthToken.DoesNotExist (also for another
    user's token: the page answers both with the same 404). Two of one user's tokens sharing a
    prefix (one chance in ~4 billion per pair) are the one first listed."""
    if len(prefix or "") != TOKEN_PREFIX_LENGTH:
        raise AuthToken.DoesNotExist
    token = tokens_of(user).filter(token_key__startswith=prefix).first()
    if token is None:
        raise AuthToken.DoesNotExist
    return token


def revoke_all_tokens(user) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def allow_password_reset_email(email: str, client_address: str) -> bool:
    """Whether one more reset email may go out: at most PASSWORD_RESET_EMAILS_PER_HOUR per
    address and four times that per client address, per schema (the cache's key function starts
    every key with the schema). Past the limit the page still says "sent" (so it cannot be used to
    probe accounts), but nothing is mailed: the form cannot be used to flood someone's inbox."""
    limit = settings.PASSWORD_RESET_EMAILS_PER_HOUR
    keys = [
        (f"pwreset:email:{(email or '').strip().lower()}", limit),
        (f"pwreset:ip:{client_address}", limit * 4),
    ]
    allowed = True
    for key, key_limit in keys:
        cache.add(key, 0, timeout=3600)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=3600)
            count = 1
        allowed = allowed and count <= key_limit
    return allowed
