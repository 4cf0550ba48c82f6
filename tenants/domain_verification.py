"""What the platform answers before routing: the custom domains' verification token, the reverse
proxy's TLS question, and which hosts may reach routing at all.

``CustomDomainMiddleware`` runs before the tenant middleware (tenants.middleware), on every host:

- ``/.well-known/tenant-domain/<token>``: 200 ``text/plain`` with the token when the Host is a
  pending custom domain with that token (tenants.domains), else 404. A domain's owner who pointed
  the name at the platform makes us serve it, which is what verification checks.
- ``/-/tls/allowed/?domain=<host>``: 200 when the reverse proxy may get a certificate for the host
  (Caddy's on-demand TLS ``ask``, sent from inside the network to ``web:8000``, hence on any Host),
  else 404. A host lookup through the host cache: bounded like routing itself.
- Every other request: ``ALLOWED_HOSTS`` is ``*`` since verified custom domains are data, not
  settings; this middleware is the Host check Django's documentation asks for in that case. A Host
  matching ``PLATFORM_HOSTS`` (DJANGO_ALLOWED_HOSTS: the root domain and its subdomains) or naming
  any tenant's domain goes on to routing (a pending one gets its 404); any other answers 400, as
  a disallowed host did before.

Only these two path prefixes are looked at; other requests cost a pattern match, and a cache read
for a host outside PLATFORM_HOSTS.
"""

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound, JsonResponse
from django.http.request import validate_host
from django_tenants.utils import remove_www

from tenants import domains
from tenants.models import Domain
from tenants.request_guards import is_api_path
from tenants.routing import hostname_of, tenant_for_host

TLS_ASK_PATH = "/-/tls/allowed/"


def _hostname(request) -> str | None:
    try:
        return hostname_of(request.get_host())
    except (DisallowedHost, ValueError):
        return None


def token_response(request, token: str) -> HttpResponse:
    hostname = _hostname(request)
    if request.method not in ("GET", "HEAD") or hostname is None:
        return HttpResponseNotFound("Not found", content_type="text/plain")
    if not domains.is_pending_token(hostname, token):
        return HttpResponseNotFound("Not found", content_type="text/plain")
    return HttpResponse(token, content_type="text/plain")


def tls_ask_response(request) -> HttpResponse:
    host = request.GET.get("domain", "")
    if request.method != "GET" or not host:
        return HttpResponseBadRequest("GET with ?domain=<host>", content_type="text/plain")
    if domains.tls_allowed(host):
        return HttpResponse("allowed", content_type="text/plain")
    return HttpResponseNotFound("not a domain of this platform", content_type="text/plain")


def host_allowed(hostname: str) -> bool:
    """The platform's hosts, and any tenant's domain: a verified one routes, a pending one gets
    routing's 404 like an unknown subdomain."""
    if validate_host(hostname, settings.PLATFORM_HOSTS):
        return True
    hostname = remove_www(hostname)
    return tenant_for_host(hostname) is not None or Domain.objects.filter(domain=hostname).exists()


class CustomDomainMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith(domains.WELL_KNOWN_PREFIX):
            return token_response(request, path.removeprefix(domains.WELL_KNOWN_PREFIX))
        if path == TLS_ASK_PATH:
            return tls_ask_response(request)
        hostname = _hostname(request)
        if hostname is not None and not host_allowed(hostname):
            # The answers of the tenant middleware for a Host it cannot serve (an invalid hostname
            # is left to it: it answers the same).
            if is_api_path(path):
                return JsonResponse({"detail": "The Host header names no valid hostname."}, status=400)
            return HttpResponseBadRequest("Bad Request (invalid host)", content_type="text/plain")
        return self.get_response(request)
