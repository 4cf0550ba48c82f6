from rest_framework.permissions import BasePermission

from tenants.services import can_operate_platform


class IsOperator(BasePermission):
    """The operator API's door: ``tenants.services.can_operate_platform``."""

    message = "Only platform operators use this API."

    def has_permission(self, request, view):
        return can_operate_platform(request.user)
