"""The operator API's custom domains of a tenant: list, add, verify, make primary, remove.

Every change goes through tenants.domains, like the global admin and the ``tenant_domains``
command. A domain is found only under its own tenant: another tenant's domain id answers 404.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.operator_api.api.domain_serializers import DomainSerializer, NewDomainSerializer
from shared_apps.operator_api.api.permissions import IsOperator
from tenants import domains
from tenants.models import Domain, Tenant


def _tenant(public_id) -> Tenant:
    try:
        return Tenant.objects.get(public_id=public_id)
    except Tenant.DoesNotExist:
        raise NotFound() from None


def _domain(public_id, domain_id) -> Domain:
    try:
        return Domain.objects.select_related("tenant").get(tenant__public_id=public_id, public_id=domain_id)
    except Domain.DoesNotExist:
        raise NotFound() from None


class DomainListView(generics.GenericAPIView):
    permission_classes = [IsOperator]
    serializer_class = DomainSerializer

    def get_queryset(self):
        return Domain.objects.filter(tenant=self.tenant).order_by("domain")

    @extend_schema(responses=DomainSerializer(many=True), summary="List a tenant's domains")
    def get(self, request, public_id):
        self.tenant = _tenant(public_id)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DomainSerializer(page, many=True).data)

    @extend_schema(
        request=NewDomainSerializer,
        responses={201: DomainSerializer},
        summary="Add a custom domain (unverified until its token is served on it)",
    )
    def post(self, request, public_id):
        tenant = _tenant(public_id)
        serializer = NewDomainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        domain = domains.add_custom_domain(tenant, serializer.validated_data["domain"])
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDetailView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=DomainSerializer, summary="One domain of a tenant")
    def get(self, request, public_id, domain_id):
        return Response(DomainSerializer(_domain(public_id, domain_id)).data)

    @extend_schema(request=None, responses={204: None}, summary="Remove a custom domain")
    def delete(self, request, public_id, domain_id):
        domains.remove_custom_domain(_domain(public_id, domain_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerifyView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=None,
        responses=DomainSerializer,
        summary="Check a pending domain now",
        description="Fetches http://<domain>/.well-known/tenant-domain/<token>. The answer is the domain: "
        "`verified`, or `verification_error` saying why not.",
    )
    def post(self, request, public_id, domain_id):
        domain = _domain(public_id, domain_id)
        domains.verify_domain(domain)
        return Response(DomainSerializer(domain).data)


class DomainMakePrimaryView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=None, responses=DomainSerializer, summary="Make a verified domain the tenant's primary"
    )
    def post(self, request, public_id, domain_id):
        domain = domains.set_primary_domain(_domain(public_id, domain_id))
        return Response(DomainSerializer(domain).data)
