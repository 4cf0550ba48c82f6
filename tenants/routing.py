"""Which tenant a Host header names, through the shared host cache (tenants.host_cache).

django-tenants looks the Domain row up on every request. Here a warm host costs one Redis GET and
no database query, and a host DNS could not hold is refused before any lookup, so a flood of odd
Host headers turns into neither queries nor cache entries.
"""

import re

from django.db.models import OuterRef, Subquery
from django.http.request import split_domain_port

from tenants import host_cache
from tenants.models import Domain, Tenant

# RFC 1035: a name is at most 253 characters; a label 1 to 63 letters, digits and inner hyphens.
MAX_HOSTNAME_LENGTH = 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

# What the cache keeps of a tenant: what routing decides on and what pages and emails read from
# ``request.tenant`` / ``connection.tenant`` (name, branding, sender, links). Any other field is
# loaded from the database when first read.
CACHED_FIELDS = (
    "id",
    "schema_name",
    "slug",
    "name",
    "status",
    "branding",
    "email_from_name",
    "email_reply_to",
    "two_factor_required",
    # Set while the tenant's schema migrates (tenants.migrating): carried here, routing learns of a
    # hold without a lookup of its own.
    "held_until",
)
# Beside them, the host links go to (Tenant.canonical_host): the primary domain when it is verified.
CANONICAL_DOMAIN = "canonical_domain"


def hostname_of(host: str) -> str:
    """The hostname of a Host header value as Domain rows store it: without the port, lower-case,
    without one trailing dot. Raises ValueError for a name DNS could not hold."""
    hostname, _port = split_domain_port(host)  # lower-cases and drops one trailing dot
    if not hostname or len(hostname) > MAX_HOSTNAME_LENGTH:
        raise ValueError("not a valid hostname")
    if not all(_LABEL.fullmatch(label) for label in hostname.split(".")):
        raise ValueError("not a valid hostname")
    return hostname


def tenant_for_host(hostname: str) -> Tenant | None:
    """The tenant serving ``hostname`` (as ``hostname_of`` returns it), or None. Only a verified
    Domain routes: a custom domain added but not yet verified (tenants.domains) serves nothing.
    Status is not checked here: callers decide."""
    values = host_cache.read(hostname)
    if values is host_cache.MISS:
        primary = Domain.objects.filter(
            tenant_id=OuterRef("pk"), is_primary=True, verified_at__isnull=False
        ).values("domain")[:1]
        values = (
            # One filter() call: both conditions apply to the same Domain row.
            Tenant.objects.filter(domains__domain=hostname, domains__verified_at__isnull=False)
            .annotate(**{CANONICAL_DOMAIN: Subquery(primary)})
            .values(*CACHED_FIELDS, CANONICAL_DOMAIN)
            .first()
        )
        host_cache.remember(hostname, values)
    if values is None:
        return None
    values = dict(values)
    canonical = values.pop(CANONICAL_DOMAIN, None)
    tenant = Tenant.from_db(Tenant.objects.db, list(values), list(values.values()))
    tenant.canonical_host = canonical or tenant.primary_host  # fills the cached_property
    return tenant
