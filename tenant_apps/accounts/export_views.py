"""The owner's door to exports, in the tenant's admin (/admin/export/): start an export of the
workspace's data, follow it, download its archive.

Owners only (``services.can_export_workspace``); the admin site's own door comes first (a signed-in
staff account of this schema, else its sign-in page), then an admin gets a 403. The exports are rows
of the public schema: they are only ever looked up among ``request.tenant``'s (the Host decides),
never by an id alone, so another tenant's export id answers 404 like an id that does not exist.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods

from tenant_apps.accounts import services
from tenants import exports
from tenants.admin_site import tenant_admin_site
from tenants.models import TenantExport


def _owner_only(request) -> None:
    if not services.can_export_workspace(request.user):
        raise PermissionDenied("Only the workspace's owners export its data.")


@require_http_methods(["GET", "POST"])
def _exports_page(request):
    _owner_only(request)
    tenant = request.tenant
    if request.method == "POST":
        try:
            exports.request_export(tenant, request.user.email, TenantExport.Via.OWNER)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, "The export has started. You will get an email when it is ready to download."
            )
        return redirect("tenant_exports")
    rows = list(exports.exports_of(tenant)[:50])
    context = {
        **tenant_admin_site.each_context(request),
        "title": "Export the workspace's data",
        "exports": rows,
        # The page reloads itself while an export runs, to show its progress.
        "under_way": any(
            row.status in (TenantExport.Status.PENDING, TenantExport.Status.RUNNING) for row in rows
        ),
        "keep_days": settings.TENANT_EXPORT_KEEP_DAYS,
    }
    return TemplateResponse(request, "accounts/admin/exports.html", context)


@require_GET
def _download(request, export_id):
    _owner_only(request)
    try:
        export = exports.get_export(request.tenant, export_id)
        archive = exports.open_archive(export)
    except TenantExport.DoesNotExist:
        raise Http404("No such export.") from None
    return FileResponse(archive, as_attachment=True, filename=exports.archive_name(export))


# The admin site's door: signed in, active, staff of this schema (else its sign-in page); CSRF.
exports_page = tenant_admin_site.admin_view(_exports_page)
download = tenant_admin_site.admin_view(_download)
