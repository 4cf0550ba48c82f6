"""Routes every request by its Host header: the root domain to the public schema and URLconf (the
operator's side), a tenant's domain to that tenant's schema and the tenant URLconf."""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.postgresql_backend.base import FakeTenant
from django_tenants.utils import get_public_schema_name

from tenants.routing import tenant_for_host


class TenantHostMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        # Start every request in public: the previous one may have left a tenant's search_path.
        connection.set_schema_to_public()
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return HttpResponseBadRequest("Bad Request (invalid host)", content_type="text/plain")

        if hostname == settings.BASE_DOMAIN:
            request.tenant = FakeTenant(schema_name=get_public_schema_name())
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None

        tenant = tenant_for_host(hostname)
        if tenant is None:
            return self._page("tenants/no_workspace.html", 404, hostname=hostname)
        if not tenant.is_active:
            return self._page("tenants/suspended.html", 403, tenant=tenant)

        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(tenant)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        return None

    @staticmethod
    def _page(template: str, status: int, **context) -> HttpResponse:
        # Rendered without the request: no session, user or CSRF work for a host we will not serve.
        context["base_domain"] = settings.BASE_DOMAIN
        return HttpResponse(render_to_string(template, context), status=status)
