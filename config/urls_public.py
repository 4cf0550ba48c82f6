"""URLs of the root domain (BASE_DOMAIN): the operator's side, in the public schema."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api.errors import not_found
from shared_apps.site_pages.admin_access import cms_urls
from shared_apps.workspace_finder import views as workspace_finder
from tenant_apps.outbox.tracking import tracking_webhook
from tenants import activity_admin, metrics, operator_two_factor, views

admin.site.site_header = "Platform operator"
admin.site.site_title = "Platform operator"
admin.site.index_title = "Tenants and operators"
# The index links the operator's own pages (Platform activity) above the models.
admin.site.index_template = "admin/platform_index.html"

urlpatterns = [
    # The home is a Wagtail page (shared_apps/site_pages, served by the catch-all at the end); its
    # forms post here (shared_apps/workspace_finder): sign in to a workspace, find one's by email.
    path("workspace/sign-in/", workspace_finder.go_to_workspace, name="workspace_sign_in"),
    path("workspace/find/", workspace_finder.find_workspace, name="find_workspace"),
    path("-/health/", views.health, name="health"),
    path("-/ready/", views.ready, name="ready"),
    # Prometheus (tenants/metrics.py): the root domain only, with the scrape token.
    path("-/metrics", metrics.metrics_view, name="metrics"),
    # Before the admin's own patterns, whose catch-all would answer it with a 404.
    path(
        "admin/activity/",
        admin.site.admin_view(activity_admin.platform_activity),
        name="platform_activity",
    ),
    # The operators' second factor (tenants/operator_two_factor.py), before the admin's catch-all.
    path("admin/two-factor/", operator_two_factor.page, name="operator_two_factor"),
    path("admin/", admin.site.urls),
    # The ESP's delivery events (anymail, basic auth with ANYMAIL_WEBHOOK_SECRET), for every tenant.
    path("webhooks/email/tracking/", tracking_webhook, name="email_tracking_webhook"),
    path("api/v1/", include("shared_apps.operator_api.api.urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            urlconf="config.urls_public",
            custom_settings={
                "TITLE": "Operator API",
                "DESCRIPTION": "Tenant lifecycle, for the platform's operators. " + settings.API_CONVENTIONS,
            },
        ),
        name="schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

if settings.SIGNUP_ENABLED:
    # Self-service signup (shared_apps/signup); its views also answer 404 while the setting is off.
    urlpatterns.append(path("signup/", include("shared_apps.signup.urls")))

if settings.DEV_TOOLBAR:
    # The debug toolbar of `manage.py dev` (config/debug_panels.py), on this host too.
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()

urlpatterns += [
    # Wagtail's admin, for operators only (shared_apps/site_pages/admin_access.py); not on tenant hosts.
    path("cms/", cms_urls()),
    # Last: Wagtail serves the root site's pages (home, pricing, docs, changelog) at any other path.
    path("", include("shared_apps.site_pages.urls")),
]

# An unknown URL under /api/ answers in the API's error format; any other, Django's 404 page.
handler404 = not_found
