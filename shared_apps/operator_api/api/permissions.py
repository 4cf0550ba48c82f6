from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework.permissions import BasePermission


class IsOperator(BasePermission):
    """An active staff user of the public schema, on the root domain."""

    message = "Only platform operators use this API."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            connection.schema_name == get_public_schema_name()
            and user
            and user.is_authenticated
            and user.is_active
            and user.is_staff
        )
