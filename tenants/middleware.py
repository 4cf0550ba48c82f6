"""Routes every request by its Host header: the root domain to the public schema and URLconf (the
operator's side), a tenant's domain to that tenant's schema and the tenant URLconf.

django-tenants' TenantMainMiddleware does the routing; this subclass fills in its hooks: how a
hostname is read (normalised and checked), how a tenant is found (the shared host cache), what an
unknown host gets, plus the two answers it has no hook for: 400 for a Host header that names no
valid hostname, 403 for a suspended tenant.

Each of the three answers is a page, except under ``/api/``: there it is the APIs' error format,
``{"detail": ...}`` (config/api/errors.py), since an API client parses every answer as JSON. The
suspended answer is one fixed sentence on both: the reason an operator wrote is theirs.
"""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.postgresql_backend.base import FakeTenant
from django_tenants.utils import get_public_schema_name, remove_www

from tenants.models import Tenant
from tenants.request_guards import is_api_path
from tenants.routing import hostname_of, tenant_for_host


class BadHost(Exception):
    """The Host header is not allowed or names no valid hostname."""


class TenantSuspended(Exception):
    def __init__(self, tenant: Tenant):
        super().__init__(tenant.slug)
        self.tenant = tenant


class TenantHostMiddleware(TenantMainMiddleware):
    def process_request(self, request):
        try:
            return super().process_request(request)
        except BadHost:
            if is_api_path(request.path_info):
                return self._api_error(400, "The Host header names no valid hostname.")
            return HttpResponseBadRequest("Bad Request (invalid host)", content_type="text/plain")
        except TenantSuspended as suspended:
            if is_api_path(request.path_info):
                return self._api_error(403, "This workspace is suspended.")
            return self._page("tenants/suspended.html", 403, tenant=suspended.tenant)

    @staticmethod
    def hostname_from_request(request):
        # Checked here, before any lookup: a hostname's length bounds what a lookup and a cache
        # entry cost.
        try:
            return remove_www(hostname_of(request.get_host()))
        except (DisallowedHost, ValueError) as exc:
            raise BadHost from exc

    def get_tenant(self, domain_model, hostname):
        if hostname == settings.BASE_DOMAIN:
            return FakeTenant(schema_name=get_public_schema_name())
        tenant = tenant_for_host(hostname)
        if tenant is None:
            raise domain_model.DoesNotExist(hostname)
        if not tenant.is_active:
            raise TenantSuspended(tenant)
        return tenant

    def no_tenant_found(self, request, hostname):
        if is_api_path(request.path_info):
            return self._api_error(404, "There is no workspace at this address.")
        return self._page("tenants/no_workspace.html", 404, hostname=hostname)

    @staticmethod
    def setup_url_routing(request, force_public=False):
        TenantMainMiddleware.setup_url_routing(request, force_public)
        # Set now, not only when Django's handler reaches the view: a later middleware that
        # reverses a URL must get this host's URLconf.
        request.urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        set_urlconf(request.urlconf)

    @staticmethod
    def _page(template: str, status: int, **context) -> HttpResponse:
        # Rendered without the request: no session, user or CSRF work for a host we will not serve.
        context["base_domain"] = settings.BASE_DOMAIN
        return HttpResponse(render_to_string(template, context), status=status)

    @staticmethod
    def _api_error(status: int, detail: str) -> JsonResponse:
        return JsonResponse({"detail": detail}, status=status)
