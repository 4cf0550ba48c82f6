from django.urls import path

from shared_apps.operator_api.api import domain_views, export_views, lifecycle_views, views

app_name = "operator_api"

urlpatterns = [
    path("auth/token/", views.OperatorTokenView.as_view(), name="token"),
    path("auth/token/revoke-all/", views.OperatorRevokeAllTokensView.as_view(), name="token_revoke_all"),
    path("tenants/", views.TenantListView.as_view(), name="tenants"),
    path("tenants/<uuid:public_id>/", views.TenantDetailView.as_view(), name="tenant"),
    path("tenants/<uuid:public_id>/suspend/", views.TenantSuspendView.as_view(), name="tenant_suspend"),
    path(
        "tenants/<uuid:public_id>/reactivate/", views.TenantReactivateView.as_view(), name="tenant_reactivate"
    ),
    path(
        "tenants/<uuid:public_id>/export/", export_views.TenantExportStartView.as_view(), name="tenant_export"
    ),
    path(
        "tenants/<uuid:public_id>/exports/",
        export_views.TenantExportListView.as_view(),
        name="tenant_exports",
    ),
    path(
        "tenants/<uuid:public_id>/exports/<uuid:export_id>/",
        export_views.TenantExportDetailView.as_view(),
        name="tenant_export_detail",
    ),
    path(
        "tenants/<uuid:public_id>/exports/<uuid:export_id>/download/",
        export_views.TenantExportDownloadView.as_view(),
        name="tenant_export_download",
    ),
    path(
        "tenants/<uuid:public_id>/restore/",
        lifecycle_views.TenantRestoreView.as_view(),
        name="tenant_restore",
    ),
    path("tenants/<uuid:public_id>/purge/", lifecycle_views.TenantPurgeView.as_view(), name="tenant_purge"),
    path(
        "tenants/<uuid:public_id>/rename/", lifecycle_views.TenantRenameView.as_view(), name="tenant_rename"
    ),
    path("tenants/<uuid:public_id>/domains/", domain_views.DomainListView.as_view(), name="tenant_domains"),
    path(
        "tenants/<uuid:public_id>/domains/<uuid:domain_id>/",
        domain_views.DomainDetailView.as_view(),
        name="tenant_domain",
    ),
    path(
        "tenants/<uuid:public_id>/domains/<uuid:domain_id>/verify/",
        domain_views.DomainVerifyView.as_view(),
        name="tenant_domain_verify",
    ),
    path(
        "tenants/<uuid:public_id>/domains/<uuid:domain_id>/make-primary/",
        domain_views.DomainMakePrimaryView.as_view(),
        name="tenant_domain_make_primary",
    ),
]
