"""Routes every request by its Host header: the root domain to the public schema and URLconf (the
operator's side), a tenant's domain to that tenant's schema and the tenant URLconf.

django-tenants' TenantMainMiddleware does the routing; this subclass fills in its hooks: how a
hostname is read (normalised and checked), how a tenant is found (the shared host cache), what an
unknown host gets, plus the answers it has no hook for: 400 for a Host header that names no
valid hostname, 403 for a suspended tenant, 503 with Retry-After for a tenant held while its schema
migrates (tenants.migrating; the hold comes with the cached host entry, so it costs no lookup), and
a redirect for a host a tenant was renamed away from.

A deleted tenant's hosts answer exactly like an unknown host (404): nothing tells a visitor that a
workspace was there. A renamed tenant's old host (an unexpired HostRedirect, tenants.host_redirects,
consulted only for a host that serves no tenant) never serves a page: it answers 301 to the same
path and query on the tenant's primary host; a browser signed in to that tenant (its session cookie
is host-only, so the new host would not see it) gets a 302 to a one-time login hand-off URL on the
new host instead (TENANT_LOGIN_HANDOFF_HOOK), 302 because that URL must never be cached.

Each of the three answers is a page, except under ``/api/``: there it is the APIs' error format,
``{"detail": ...}`` (config/api/errors.py), since an API client parses every answer as JSON. The
suspended answer is one fixed sentence on both: the reason an operator wrote is theirs.
"""

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import DisallowedHost
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.http.request import split_domain_port
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django.utils.cache import add_never_cache_headers
from django.utils.module_loading import import_string
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.postgresql_backend.base import FakeTenant
from django_tenants.utils import get_public_schema_name, remove_www, tenant_context

from tenants import host_redirects
from tenants.migrating import retry_after_seconds
from tenants.models import Tenant
from tenants.request_guards import is_api_path
from tenants.routing import hostname_of, tenant_for_host

logger = logging.getLogger(__name__)


class BadHost(Exception):
    """The Host header is not allowed or names no valid hostname."""


class TenantSuspended(Exception):
    def __init__(self, tenant: Tenant):
        super().__init__(tenant.slug)
        self.tenant = tenant


class TenantHeld(Exception):
    """The tenant's schema is being migrated (tenants.migrating)."""

    def __init__(self, tenant: Tenant):
        super().__init__(tenant.slug)
        self.tenant = tenant


class HostMoved(Exception):
    """The host is one the tenant was renamed away from; it now lives at ``tenant.primary_host``."""

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
        except TenantHeld as held:
            if is_api_path(request.path_info):
                response = self._api_error(503, "This workspace is being updated; try again shortly.")
            else:
                response = self._page("tenants/updating.html", 503, tenant=held.tenant)
            response["Retry-After"] = str(retry_after_seconds(held.tenant))
            add_never_cache_headers(response)
            return response
        except HostMoved as moved:
            return self._moved(request, moved.tenant)

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
            target = host_redirects.target_host(hostname)
            moved_to = tenant_for_host(target) if target else None
            if moved_to is not None and moved_to.status != Tenant.Status.DELETED:
                raise HostMoved(moved_to)
            raise domain_model.DoesNotExist(hostname)
        if tenant.status == Tenant.Status.DELETED:
            raise domain_model.DoesNotExist(hostname)  # the same 404 as an unknown host
        if not tenant.is_active:
            raise TenantSuspended(tenant)
        if tenant.is_held:
            raise TenantHeld(tenant)
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
    def _moved(request, tenant: Tenant) -> HttpResponse:
        """301 to the same path and query on the tenant's primary host (same scheme and port), or,
        for a browser with a live session of the tenant, 302 to a one-time login hand-off there."""
        handoff = _login_handoff(request, tenant)
        if handoff is not None:
            response = HttpResponseRedirect(handoff)
            add_never_cache_headers(response)
            return response
        _host, port = split_domain_port(request.get_host())
        netloc = f"{tenant.primary_host}:{port}" if port else tenant.primary_host
        return HttpResponsePermanentRedirect(f"{request.scheme}://{netloc}{request.get_full_path()}")

    @staticmethod
    def _page(template: str, status: int, **context) -> HttpResponse:
        # Rendered without the request: no session, user or CSRF work for a host we will not serve.
        context["base_domain"] = settings.BASE_DOMAIN
        return HttpResponse(render_to_string(template, context), status=status)

    @staticmethod
    def _api_error(status: int, detail: str) -> JsonResponse:
        return JsonResponse({"detail": detail}, status=status)


def _login_handoff(request, tenant: Tenant) -> str | None:
    """The hand-off URL for the user signed in by this request's session cookie of ``tenant``, or
    None (no cookie, an expired or foreign session, an inactive user). The session is read in the
    tenant's schema, where it lives; ``get_user`` checks its password hash like any request."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    with tenant_context(tenant):
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        try:
            user = get_user(request)
            if not user.is_authenticated:
                return None
            return import_string(settings.TENANT_LOGIN_HANDOFF_HOOK)(user, request.get_full_path())
        except Exception:
            # The hand-off lives in the cache: when it is down, the plain redirect still gets the
            # browser to the new host, where it signs in again.
            logger.warning("no login hand-off for %s's renamed host", tenant.slug, exc_info=True)
            return None
        finally:
            # The old host serves nothing: no session of it may be saved or read further.
            del request.session
