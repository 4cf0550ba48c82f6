"""The operator API's door to plans and limits: ``PATCH /api/v1/tenants/{id}/``.

Parsing only: the change is ``tenants.limits.change_plan``, the same as the global admin's and
``manage.py set_tenant_plan``. Bad values answer 400 with field errors and change nothing.
"""

from rest_framework import serializers
from rest_framework.response import Response

from shared_apps.operator_api.api.serializers import TenantSerializer
from tenants import limits


def _limit_field(help_text: str):
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=limits.MAX_LIMIT, help_text=help_text
    )


class PlanChangeSerializer(serializers.Serializer):
    plan = serializers.ChoiceField(
        choices=limits.plan_names(),
        required=False,
        help_text="Resets the limits to the plan's defaults, then applies the limits given beside it.",
    )
    max_users = _limit_field("Active users and open invitations; null: no limit.")
    max_projects = _limit_field("Projects, archived ones included; null: no limit.")
    max_storage_mb = _limit_field("Disk size of the tenant's schema in MB; null: no limit.")


def change_plan(request, tenant) -> Response:
    serializer = PlanChangeSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    tenant = limits.change_plan(tenant, data.pop("plan", None), **data)
    return Response(TenantSerializer(limits.attach_usage([tenant])[0]).data)
