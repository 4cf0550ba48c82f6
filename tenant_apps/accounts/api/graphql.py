"""GraphQL of the signed-in user and the team (``/graphql/``; composed in config/graphql_urls.py).

The same contract as the REST API of this package (``views.py``): ``me`` for any signed-in account
of the workspace; the directory (``users``, ``user``) for every role; invitations and every write
for owners and admins, and only owners touch an owner or the owner role. Reads go through the
actor-aware getters (``users_for``, ``invitations_for``), so an id of another tenant or of nothing
is NOT_FOUND; writes call the same services (the same rules, emails and errors).
"""

import datetime
import uuid
from collections.abc import Iterable
from enum import Enum

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from strawberry.types import Info

from config.api.graphql import Page
from tenant_apps.accounts import invitations, services
from tenant_apps.accounts.api.serializers import InviteSerializer
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import role_of


@strawberry.enum(name="Role")
class RoleName(Enum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


@strawberry_django.type(get_user_model(), name="User")
class UserType:
    id: uuid.UUID = strawberry_django.field(field_name="public_id")
    email: str
    full_name: str
    is_active: bool
    created_at: datetime.datetime
    last_login: datetime.datetime | None

    @strawberry_django.field(prefetch_related=["groups"])
    def role(self) -> RoleName | None:
        role = role_of(self)
        return RoleName(role) if role else None


@strawberry_django.type(Invitation, name="Invitation")
class InvitationType:
    id: uuid.UUID = strawberry_django.field(field_name="public_id")
    email: str
    expires_at: datetime.datetime
    sent_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    created_at: datetime.datetime

    @strawberry_django.field(only=["role"])
    def role(self) -> RoleName:
        return RoleName(self.role)

    @strawberry_django.field(only=["accepted_at", "revoked_at", "expires_at"])
    def status(self) -> str:
        return str(self.status)

    @strawberry_django.field(select_related=["invited_by"])
    def invited_by(self) -> str | None:
        """The inviter's email address."""
        return self.invited_by.email if self.invited_by else None


def _user(info: Info):
    return info.context.request.user


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


# The REST permission classes' messages (api/permissions.py), for the same refusals.
VIEW_USERS = "Only members of the workspace see its users."
MANAGE_USERS = "Only owners and admins manage users."


def _target(actor, public_id: uuid.UUID):
    """A user to change: NOT_FOUND unless visible; FORBIDDEN unless ``actor`` may change them."""
    _require(services.can_manage_users(actor), MANAGE_USERS)
    user = services.get_user_for(actor, public_id)
    services.check_can_change_user(actor, user)
    return user


def _invitation(actor, public_id: uuid.UUID) -> Invitation:
    _require(services.can_manage_users(actor), MANAGE_USERS)
    invitation = invitations.get_invitation_for(actor, public_id)
    services.check_can_change_invitation(actor, invitation)
    return invitation


@strawberry.type
class AccountsQuery:
    @strawberry_django.field(description="The signed-in user (any account of this workspace).")
    def me(self, info: Info) -> UserType | None:
        return _user(info)

    @strawberry_django.connection(Page[UserType], description="The team, by email.")
    def users(self, info: Info, active: bool | None = None) -> Iterable[UserType]:
        actor = _user(info)
        _require(services.can_view_users(actor), VIEW_USERS)
        users = services.users_for(actor)
        if active is not None:
            users = users.filter(is_active=active)
        return users.order_by("email", "pk")

    @strawberry_django.field
    def user(self, info: Info, id: uuid.UUID) -> UserType | None:
        actor = _user(info)
        _require(services.can_view_users(actor), VIEW_USERS)
        return services.get_user_for(actor, id)

    @strawberry_django.connection(
        Page[InvitationType], description="Invitations, newest first: owners and admins."
    )
    def invitations(self, info: Info) -> Iterable[InvitationType]:
        actor = _user(info)
        _require(services.can_manage_users(actor), MANAGE_USERS)
        return invitations.invitations_for(actor).order_by("-created_at", "pk")


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Change a user's role; only owners grant or remove the owner role.")
    def set_role(self, info: Info, id: uuid.UUID, role: RoleName) -> UserType | None:
        actor = _user(info)
        with transaction.atomic():
            user = _target(actor, id)
            services.set_role(actor, user, role.value)
            return services.get_user_for(actor, id)

    @strawberry.mutation(description="Deactivate a user: they can no longer sign in; their tokens die.")
    def deactivate_user(self, info: Info, id: uuid.UUID) -> UserType | None:
        actor = _user(info)
        with transaction.atomic():
            services.deactivate_user(actor, _target(actor, id))
            return services.get_user_for(actor, id)

    @strawberry.mutation(description="Let a deactivated user sign in again, with their role.")
    def reactivate_user(self, info: Info, id: uuid.UUID) -> UserType | None:
        actor = _user(info)
        with transaction.atomic():
            services.reactivate_user(actor, _target(actor, id))
            return services.get_user_for(actor, id)

    @strawberry.mutation(description="Invite an email address (re-inviting resends); emails the link.")
    def invite_user(self, info: Info, email: str, role: RoleName = RoleName.MEMBER) -> InvitationType | None:
        actor = _user(info)
        _require(services.can_manage_users(actor), MANAGE_USERS)
        with transaction.atomic():
            serializer = InviteSerializer(data={"email": email, "role": role.value})
            serializer.is_valid(raise_exception=True)
            return invitations.invite(
                actor, serializer.validated_data["email"], serializer.validated_data["role"]
            )

    @strawberry.mutation(description="Send an invitation again, with a new link.")
    def resend_invitation(self, info: Info, id: uuid.UUID) -> InvitationType | None:
        actor = _user(info)
        with transaction.atomic():
            return invitations.resend_invitation(actor, _invitation(actor, id))

    @strawberry.mutation(description="Revoke an invitation: its link stops working.")
    def revoke_invitation(self, info: Info, id: uuid.UUID) -> InvitationType | None:
        actor = _user(info)
        with transaction.atomic():
            return invitations.revoke_invitation(actor, _invitation(actor, id))
