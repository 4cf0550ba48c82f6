"""The operator API's tenant lifecycle beyond provisioning: soft delete, restore, purge, rename.

Each view parses, finds the tenant and calls one tenants.services function; the rules (grace
period, slug checks, what may be purged) are the service's. A step the tenant's state does not
allow (restore a tenant that is not deleted or past its grace period, purge one that is not
deleted, rename a deleted one) answers 409 with the reason; a bad slug 400 keyed by field.
The soft delete itself is ``DELETE /api/v1/tenants/{id}/`` (views.TenantDetailView).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.operator_api.api.permissions import IsOperator
from shared_apps.operator_api.api.serializers import TenantSerializer
from tenants import services
from tenants.models import Tenant


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The tenant's state does not allow this."
    default_code = "conflict"


class RenameSerializer(serializers.Serializer):
    # The length is checked here so that a too-long value is a 400, never a database error; the
    # rest (format, reserved, taken) is the service's.
    slug = serializers.CharField(max_length=40)


def _tenant(public_id) -> Tenant:
    try:
        return Tenant.objects.get(public_id=public_id)
    except Tenant.DoesNotExist:
        raise NotFound() from None


def refused(exc: services.LifecycleRefused) -> Conflict:
    return Conflict(str(exc))


class TenantRestoreView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=None,
        responses={200: TenantSerializer, 409: None},
        summary="Restore a deleted tenant with its data (within its grace period)",
    )
    def post(self, request, public_id):
        try:
            tenant = services.restore_tenant(_tenant(public_id))
        except services.LifecycleRefused as exc:
            raise refused(exc) from None
        return Response(TenantSerializer(tenant).data)


class TenantPurgeView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=None,
        responses={204: None, 409: None},
        summary="Drop a deleted tenant's schema and data now, before its grace period ends",
        description="Irreversible. Only a deleted tenant is purged (DELETE it first); others answer 409.",
    )
    def post(self, request, public_id):
        try:
            services.purge_tenant(_tenant(public_id))
        except services.LifecycleRefused as exc:
            raise refused(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantRenameView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=RenameSerializer,
        responses={200: TenantSerializer, 409: None},
        summary="Rename a tenant's subdomain",
        description="The old host answers a redirect to the new one for TENANT_RENAME_REDIRECT_DAYS, "
        "then the old name is free.",
    )
    def post(self, request, public_id):
        tenant = _tenant(public_id)
        serializer = RenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tenant = services.rename_tenant(tenant, serializer.validated_data["slug"])
        except services.LifecycleRefused as exc:
            raise refused(exc) from None
        return Response(TenantSerializer(tenant).data)
