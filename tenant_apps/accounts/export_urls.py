"""/admin/export/ on a tenant's domain (tenant_apps.accounts.export_views), before the admin's own."""

from django.urls import path

from tenant_apps.accounts import export_views

urlpatterns = [
    path("", export_views.exports_page, name="tenant_exports"),
    path("<uuid:export_id>/download/", export_views.download, name="tenant_export_download"),
]
