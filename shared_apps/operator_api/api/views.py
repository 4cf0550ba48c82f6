"""The operator API (/api/v1/ on the root domain): the tenant lifecycle for platform operators.

Every change goes through tenants.services, exactly like the CLI and the global admin. Tokens are
knox tokens of the public schema's users (the accounts app's User model, its services issue and
revoke them); a tenant's token does not exist here (401), and a non-staff user of the public
schema gets no token at all.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import tokens
from shared_apps.operator_api.api import plan_views
from shared_apps.operator_api.api.permissions import IsOperator
from shared_apps.operator_api.api.serializers import (
    NewTenantSerializer,
    SuspendSerializer,
    TenantSerializer,
)
from tenant_apps.accounts import services as accounts
from tenants import limits, services
from tenants.models import Tenant


class OperatorTokenView(tokens.TokenView):
    """An operator's token, on the root domain: staff users of the public schema only."""

    def sign_in(self, http_request, email, password, code):
        return accounts.sign_in_for_token(http_request, email, password, code, operators_only=True)

    def revoke(self, token):
        accounts.revoke_token(token)


class OperatorRevokeAllTokensView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=None, responses={204: None}, summary="Revoke every token of the operator")
    def post(self, request):
        accounts.revoke_all_tokens(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _tenant(public_id) -> Tenant:
    try:
        return Tenant.objects.get(public_id=public_id)
    except Tenant.DoesNotExist:
        raise NotFound() from None


class TenantListView(generics.GenericAPIView):
    permission_classes = [IsOperator]
    serializer_class = TenantSerializer

    def get_queryset(self):
        # Each tenant's ``url`` follows its primary domain (Tenant.canonical_host): one query for all.
        return Tenant.objects.order_by("slug").prefetch_related("domains")

    @extend_schema(responses=TenantSerializer(many=True), summary="List tenants")
    def get(self, request):
        page = limits.attach_usage(services.attach_user_counts(self.paginate_queryset(self.get_queryset())))
        return self.get_paginated_response(TenantSerializer(page, many=True).data)

    @extend_schema(
        request=NewTenantSerializer,
        responses={201: TenantSerializer},
        summary="Provision a tenant (schema, domain and owner)",
        description="The owner is emailed a welcome with a one-time link to set a password; the link is "
        "theirs alone and is not in this answer.",
    )
    def post(self, request):
        serializer = NewTenantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        provisioned = services.provision_tenant(
            data["slug"], data["name"], data["owner_email"], owner_name=data["owner_name"], plan=data["plan"]
        )
        return Response(TenantSerializer(provisioned.tenant).data, status=status.HTTP_201_CREATED)


class TenantDetailView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=TenantSerializer, summary="One tenant")
    def get(self, request, public_id):
        return Response(TenantSerializer(_tenant(public_id)).data)

    @extend_schema(
        request=plan_views.PlanChangeSerializer,
        responses=TenantSerializer,
        summary="Change a tenant's plan or its limits",
    )
    def patch(self, request, public_id):
        return plan_views.change_plan(request, _tenant(public_id))

    @extend_schema(
        request=None,
        responses={204: None},
        summary="Delete a tenant (soft: restorable for TENANT_DELETE_GRACE_DAYS, then purged)",
    )
    def delete(self, request, public_id):
        services.delete_tenant(_tenant(public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantSuspendView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=SuspendSerializer, responses=TenantSerializer, summary="Suspend a tenant")
    def post(self, request, public_id):
        tenant = _tenant(public_id)
        serializer = SuspendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = services.suspend_tenant(tenant, serializer.validated_data["reason"])
        return Response(TenantSerializer(tenant).data)


class TenantReactivateView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=None, responses=TenantSerializer, summary="Reactivate a suspended tenant")
    def post(self, request, public_id):
        tenant = services.reactivate_tenant(_tenant(public_id))
        return Response(TenantSerializer(tenant).data)
