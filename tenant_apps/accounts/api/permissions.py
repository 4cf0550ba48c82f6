"""DRF's view of the accounts rules: each class wraps one predicate of tenant_apps.accounts.services."""

from rest_framework.permissions import BasePermission

from tenant_apps.accounts import services


class CanViewUsers(BasePermission):
    """Every role; an account without a role gets 403."""

    message = "Only members of the workspace see its users."

    def has_permission(self, request, view):
        return services.can_view_users(request.user)


class CanManageUsers(BasePermission):
    """Owners and admins; members get 403."""

    message = "Only owners and admins manage users."

    def has_permission(self, request, view):
        return services.can_manage_users(request.user)


class CanChangeUser(BasePermission):
    """Object level: only owners change or deactivate an owner."""

    message = "Only an owner can grant or remove the owner role."

    def has_object_permission(self, request, view, obj):
        return services.can_change_user(request.user, obj)


class CanChangeInvitation(BasePermission):
    """Object level: only owners resend, revoke or replace an owner's invitation."""

    message = "Only an owner can grant or remove the owner role."

    def has_object_permission(self, request, view, obj):
        return services.can_change_invitation(request.user, obj)
