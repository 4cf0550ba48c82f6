"""URLs of every tenant domain (<slug>.BASE_DOMAIN), served in that tenant's schema."""

from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api.errors import not_found
from tenant_apps.accounts import password_views
from tenants import views
from tenants.admin_site import tenant_admin_site

urlpatterns = [
    # The workspace's app is its home; signed-out visitors are sent to sign in from there.
    path("", RedirectView.as_view(url="/projects/", permanent=False), name="home"),
    path("-/health/", views.health, name="health"),
    # The owner's exports, inside the tenant admin's address space (before its catch-all patterns).
    path("admin/export/", include("tenant_apps.accounts.export_urls")),
    path("admin/", tenant_admin_site.urls),
    path(
        "accounts/reset/<uidb64>/<token>/",
        password_views.PasswordLinkView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        password_views.password_link_done,
        name="password_reset_complete",
    ),
    path("accounts/", include("tenant_apps.accounts.urls")),
    # The signed-in user's profile: name, password, sessions and API tokens.
    path("account/", include("tenant_apps.accounts.profile_urls")),
    path("account/two-factor/", include("tenant_apps.accounts.two_factor_urls")),
    path("team/", include("tenant_apps.accounts.team_urls")),
    path("api/v1/", include("tenant_apps.accounts.api.urls")),
    path("api/v1/", include("tenant_apps.projects.api.urls")),
    # GraphQL over the same services and credentials as the REST API (config/graphql_urls.py).
    path("graphql/", include("config.graphql_urls")),
    path("", include("tenant_apps.projects.urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="config.urls_tenant"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

if settings.DEV_TOOLBAR:
    # The debug toolbar of `manage.py dev` (config/debug_panels.py), on this host too.
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()

# An unknown URL under /api/ answers in the API's error format; any other, Django's 404 page.
handler404 = not_found
