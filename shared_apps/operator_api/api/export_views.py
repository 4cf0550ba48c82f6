"""The operator API's exports (/api/v1/tenants/{id}/export/ and .../exports/): start an export of a
tenant's data, follow it, download its archive. Operators only (``IsOperator``); the rules are
``tenants.exports``', as for the global admin, the CLI and the tenant's owner.
"""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.operator_api.api.permissions import IsOperator
from tenants import exports
from tenants.models import Tenant, TenantExport


class ExportSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    download_url = serializers.SerializerMethodField(help_text="Set once the archive is ready.")

    class Meta:
        model = TenantExport
        fields = [
            "id",
            "tenant",
            "status",
            "progress",
            "requested_by",
            "requested_via",
            "size_bytes",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, export) -> str | None:
        if export.status != TenantExport.Status.READY:
            return None
        return f"/api/v1/tenants/{export.tenant.public_id}/exports/{export.public_id}/download/"


def _tenant(public_id) -> Tenant:
    try:
        return Tenant.objects.get(public_id=public_id)
    except Tenant.DoesNotExist:
        raise NotFound() from None


def _export(tenant, export_id) -> TenantExport:
    try:
        return exports.get_export(tenant, export_id)
    except TenantExport.DoesNotExist:
        raise NotFound() from None


class TenantExportStartView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=None,
        responses={202: ExportSerializer},
        summary="Start an export of a tenant's data",
        description="A job writes the archive (a zip of JSON files per model and a manifest; no password "
        "hash, token or one-time link); the operator is emailed when it is ready. 400 while another "
        "export of the tenant is under way, or for a deleted tenant.",
    )
    def post(self, request, public_id):
        export = exports.request_export(_tenant(public_id), request.user.email, TenantExport.Via.OPERATOR)
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class TenantExportListView(generics.GenericAPIView):
    permission_classes = [IsOperator]
    serializer_class = ExportSerializer

    @extend_schema(responses=ExportSerializer(many=True), summary="A tenant's exports, newest first")
    def get(self, request, public_id):
        page = self.paginate_queryset(exports.exports_of(_tenant(public_id)))
        return self.get_paginated_response(ExportSerializer(page, many=True).data)


class TenantExportDetailView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses=ExportSerializer, summary="One export: its status and progress")
    def get(self, request, public_id, export_id):
        return Response(ExportSerializer(_export(_tenant(public_id), export_id)).data)


class TenantExportDownloadView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The archive"),
            404: OpenApiResponse(description="No such export, or not ready, or expired"),
        },
        summary="Download a ready export's archive",
    )
    def get(self, request, public_id, export_id):
        export = _export(_tenant(public_id), export_id)
        try:
            archive = exports.open_archive(export)
        except TenantExport.DoesNotExist:
            raise NotFound("This export has no archive to download (not ready, or expired).") from None
        return FileResponse(
            archive, as_attachment=True, filename=exports.archive_name(export), content_type="application/zip"
        )
