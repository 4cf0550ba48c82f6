from django.urls import path

from shared_apps.operator_api.api import views

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
]
