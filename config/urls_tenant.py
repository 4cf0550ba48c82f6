"""URLs of every tenant domain (<slug>.BASE_DOMAIN), served in that tenant's schema."""

from django.urls import path
from django.views.generic import RedirectView

from tenants import views
from tenants.admin_site import tenant_admin_site

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("-/health/", views.health, name="health"),
    path("admin/", tenant_admin_site.urls),
    path("accounts/reset/<uidb64>/<token>/", views.TenantPasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", views.TenantPasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
]
