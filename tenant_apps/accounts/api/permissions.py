from rest_framework.permissions import BasePermission

from tenant_apps.accounts.services import can_manage_users


class CanManageUsers(BasePermission):
    """Owners and admins; members get 403."""

    message = "Only owners and admins manage users."

    def has_permission(self, request, view):
        return can_manage_users(request.user)
