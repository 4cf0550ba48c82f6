"""Exports in the global admin: the "Export data" action on tenants, and a read-only list of every
export with a download link (operators only: the site's door is ``can_operate_platform``).

The rules are ``tenants.exports``', as for the operator API, the CLI and the tenant's owner.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from tenants import exports
from tenants.models import TenantExport


@admin.action(description="Export data of the selected tenants")
def export_selected(modeladmin, request, queryset):
    started = 0
    for tenant in queryset:
        try:
            exports.request_export(tenant, request.user.email, TenantExport.Via.OPERATOR)
            started += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{tenant.slug}: {' '.join(exc.messages)}", messages.ERROR)
    if started:
        modeladmin.message_user(
            request,
            f"Started {started} export(s); you will get an email when each is ready "
            "(Tenants > Tenant exports shows their progress).",
            messages.SUCCESS,
        )


@admin.register(TenantExport)
class TenantExportAdmin(admin.ModelAdmin):
    list_display = (
        "tenant",
        "status",
        "progress_percent",
        "requested_by",
        "requested_via",
        "created_at",
        "download",
    )
    list_filter = ("status", "requested_via", "created_at")
    search_fields = ("tenant__slug", "requested_by", "=public_id")
    list_select_related = ("tenant",)
    fields = (
        "public_id",
        "tenant",
        "status",
        "progress_percent",
        "requested_by",
        "requested_via",
        "size_bytes",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
        "download",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # through the tenants' "Export data" action, which runs the service

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # expiry deletes archives; a tenant's deletion takes its exports with it

    @admin.display(description="Progress")
    def progress_percent(self, obj):
        return f"{obj.progress}%"

    @admin.display(description="Archive")
    def download(self, obj):
        if obj.status != TenantExport.Status.READY:
            return "-"
        url = reverse("admin:tenants_tenantexport_download", args=[obj.pk], current_app=self.admin_site.name)
        return format_html('<a href="{}">Download</a>', url)

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [
            path("<int:object_id>/download/", download, name="tenants_tenantexport_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = TenantExport.objects.select_related("tenant").filter(pk=object_id).first()
        try:
            archive = exports.open_archive(export) if export else None
        except TenantExport.DoesNotExist:
            archive = None
        if archive is None:
            raise Http404("This export has no archive to download.")
        return FileResponse(archive, as_attachment=True, filename=exports.archive_name(export))
