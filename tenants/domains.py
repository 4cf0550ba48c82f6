"""Custom domains: the one place that adds, verifies, makes primary and removes a tenant's domains.

The operator API, the global admin, the ``tenant_domains`` command and the beat job
``tenants.verify_pending_domains`` all call these functions.

A custom domain is added unverified, with a random token, and routes nothing until it is verified,
in either of two ways: its owner points the name at the platform, which then serves the token at
``http://<domain>/.well-known/tenant-domain/<token>`` (tenants.domain_verification), and
``verify_domain`` fetches it from there; or its owner publishes the token as a TXT record at
``_tenant-domain.<domain>``, which ``verify_domain`` reads (useful before the name is moved, so it
routes the moment it points here). Whoever controls where the name points, or its DNS zone,
controls the answer, so a verified domain is one its owner chose to give us; the token is
published by design, it is not a secret. Names under BASE_DOMAIN are the platform's: a tenant's
own subdomain is made by provisioning, verified at once, and can be neither added nor removed here.

Links follow the primary domain (``Tenant.canonical_host``); ``<slug>.<BASE_DOMAIN>`` keeps
routing whatever is primary.
"""

import http.client
import ipaddress
import logging
import secrets
import socket
import time
from datetime import timedelta

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import remove_www

from tenants import host_cache
from tenants.models import Domain, Tenant
from tenants.routing import hostname_of, tenant_for_host

logger = logging.getLogger(__name__)

WELL_KNOWN_PREFIX = "/.well-known/tenant-domain/"
TXT_RECORD_PREFIX = "_tenant-domain."
# What the verifier reads of an answer: the token is 43 characters, anything much longer is not it.
MAX_ANSWER_BYTES = 1024


# --- Reading ---------------------------------------------------------------------------------------


def is_platform_host(hostname: str) -> bool:
    """The root domain or a name under it: the platform's, never a tenant's custom domain."""
    base = settings.BASE_DOMAIN
    return hostname == base or hostname.endswith(f".{base}")


def is_custom(domain: Domain) -> bool:
    return not is_platform_host(domain.domain)


def verification_url(domain: Domain) -> str:
    return f"http://{domain.domain}{WELL_KNOWN_PREFIX}{domain.verification_token}"


def txt_record_name(domain: Domain) -> str:
    """Where a TXT record with the token verifies the domain too."""
    return f"{TXT_RECORD_PREFIX}{domain.domain}"


def instructions(domain: Domain) -> str:
    """What the domain's owner does to verify it (either way works), for the operator to pass on."""
    if domain.verified_at:
        return "Verified: the domain routes to the tenant."
    return (
        f"Either point {domain.domain} at the platform (a CNAME to {settings.CUSTOM_DOMAIN_CNAME_TARGET}, "
        f"or A/AAAA records to its addresses): the platform then answers {verification_url(domain)} "
        f"with the token. Or add a TXT record at {txt_record_name(domain)} whose value is the token, "
        f"{domain.verification_token}. The domain is verified at the next check, and routes once "
        "it points at the platform."
    )


def is_pending_token(hostname: str, token: str) -> bool:
    """Whether ``hostname`` is a pending (unverified) custom domain with this token: what
    ``/.well-known/tenant-domain/<token>`` answers on that host."""
    if not token or len(token) > Domain._meta.get_field("verification_token").max_length:
        return False
    return Domain.objects.filter(domain=hostname, verification_token=token, verified_at__isnull=True).exists()


def tls_allowed(host: str) -> bool:
    """Whether the reverse proxy may get a certificate for ``host`` (Caddy's on-demand TLS asks):
    the root domain, or a verified domain of an active tenant. Costs one cache read for a warm host
    (tenants.host_cache), one query for a cold one."""
    try:
        hostname = hostname_of(host)
    except ValueError:
        return False
    if hostname == settings.BASE_DOMAIN:
        return True
    # The tenant middleware serves www.<name> as <name>.
    tenant = tenant_for_host(remove_www(hostname))
    return tenant is not None and tenant.is_active


# --- Adding ----------------------------------------------------------------------------------------


def _hostname_problem(hostname: str) -> str | None:
    if "://" in hostname or "/" in hostname or ":" in hostname:
        return "Enter a hostname only, without scheme, port or path, e.g. shop.example.com."
    try:
        valid = hostname_of(hostname) == hostname
    except ValueError:
        valid = False
    if valid and is_platform_host(hostname):
        return f"Names under {settings.BASE_DOMAIN} are the platform's; add a domain of your own."
    labels = hostname.split(".")
    # A custom domain has a parent domain, and a top-level label that is not a number (an IP).
    if not valid or len(labels) < 2 or labels[-1].isdigit():
        return "Enter a valid hostname, e.g. shop.example.com."
    if hostname.startswith("www."):
        return f"Add {hostname.removeprefix('www.')}: its www. name is served with it."
    return None


def _custom_count(tenant: Tenant) -> int:
    return sum(not is_platform_host(d) for d in tenant.domains.values_list("domain", flat=True))


def check_custom_domain(tenant: Tenant, hostname: str) -> str:
    """``hostname`` as it would be stored (stripped, lower-case, no trailing dot), or
    ValidationError keyed by ``domain`` for an invalid, platform or taken name, or one past the
    tenant's TENANT_MAX_CUSTOM_DOMAINS; keyed by ``tenant`` for a deleted tenant."""
    hostname = (hostname or "").strip().lower().removesuffix(".")
    if tenant.status == Tenant.Status.DELETED:
        raise ValidationError({"tenant": ["A deleted tenant gets no new domains."]})
    if problem := _hostname_problem(hostname):
        raise ValidationError({"domain": [problem]})
    if Domain.objects.filter(domain=hostname).exists():
        raise ValidationError({"domain": [f"{hostname} is already taken."]})
    if _custom_count(tenant) >= settings.TENANT_MAX_CUSTOM_DOMAINS:
        raise ValidationError(
            {"domain": [f"A tenant has at most {settings.TENANT_MAX_CUSTOM_DOMAINS} custom domains."]}
        )
    return hostname


def add_custom_domain(tenant: Tenant, hostname: str) -> Domain:
    """Add ``hostname`` to ``tenant`` as an unverified, non-primary custom domain with a fresh
    token, under the rules of ``check_custom_domain`` (its ValidationError)."""
    try:
        with transaction.atomic():
            # The tenant's row, locked: two concurrent adds cannot both pass the maximum.
            Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
            hostname = check_custom_domain(tenant, hostname)
            domain = Domain.objects.create(
                tenant=tenant,
                domain=hostname,
                is_primary=False,
                verification_token=secrets.token_urlsafe(32),
            )
    except IntegrityError:  # the same name added by another tenant between the check and the insert
        raise ValidationError({"domain": [f"{hostname.strip().lower()} is already taken."]}) from None
    logger.info("tenant %s added custom domain %s (pending verification)", tenant.slug, hostname)
    return domain


# --- Verifying -------------------------------------------------------------------------------------


class VerificationFailed(Exception):
    """Why the token was not found; the message is for a person (the operator, the log), and short:
    the token URL is not repeated (the instructions and the API's ``verification_url`` show it)."""


def _address_to_connect(hostname: str) -> tuple[str, int]:
    """Where the verifier connects: DOMAIN_VERIFICATION_CONNECT_TO ("host:port") when set (tests,
    or a platform that reaches its own proxy by an internal name), else the first public address
    ``hostname`` resolves to, port 80. Only public addresses: a customer's name pointed at a
    private or loopback address must not make the platform probe its own network."""
    if settings.DOMAIN_VERIFICATION_CONNECT_TO:
        host, _, port = settings.DOMAIN_VERIFICATION_CONNECT_TO.rpartition(":")
        return host.strip("[]"), int(port)  # "[::1]:8000" too
    try:
        infos = socket.getaddrinfo(hostname, 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise VerificationFailed(f"{hostname} does not resolve ({exc}).") from None
    for _family, _type, _proto, _name, address in infos:
        if ipaddress.ip_address(address[0]).is_global:
            return address[0], 80
    raise VerificationFailed(f"{hostname} resolves to no public address.")


def _fetch_token(domain: Domain) -> str:
    """The body ``http://<domain>/.well-known/tenant-domain/<token>`` answers; VerificationFailed
    if it does not answer 200 in time. http.client rather than a client library: we choose the
    address ourselves (a checked one), send the Host header ourselves and follow no redirect,
    which is all http.client does."""
    host, port = _address_to_connect(domain.domain)
    timeout = settings.DOMAIN_VERIFICATION_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(
            "GET",
            WELL_KNOWN_PREFIX + domain.verification_token,
            headers={"Host": domain.domain, "User-Agent": "tenant-domain-verifier"},
        )
        response = connection.getresponse()
        if response.status != 200:
            # A redirect is not followed: our proxy answers this path itself, on plain HTTP.
            raise VerificationFailed(f"the token URL answered {response.status}, not 200 with the token.")
        # Bounded in size and in time: a server dripping bytes cannot hold the verifier.
        body = b""
        while len(body) <= MAX_ANSWER_BYTES and time.monotonic() < deadline:
            chunk = response.read1(MAX_ANSWER_BYTES + 1 - len(body))
            if not chunk:
                break
            body += chunk
        return body[: MAX_ANSWER_BYTES + 1].decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        raise VerificationFailed(
            f"the token URL could not be fetched ({exc.__class__.__name__}: {exc})."
        ) from None
    finally:
        connection.close()


def _check_http(domain: Domain) -> None:
    body = _fetch_token(domain)
    if body.strip() != domain.verification_token:
        raise VerificationFailed("the token URL answered something other than the token.")


def _nameservers() -> list[dns.nameserver.Nameserver]:
    """DOMAIN_VERIFICATION_NAMESERVERS ("ip" or "ip:port", "[ipv6]:port", comma-separated) as
    dnspython nameservers; an empty list means the system's resolver."""
    servers = []
    for entry in filter(None, (part.strip() for part in settings.DOMAIN_VERIFICATION_NAMESERVERS.split(","))):
        host, port = entry, "53"
        if entry.startswith("["):
            host, _, port = entry[1:].partition("]:")
        elif entry.count(":") == 1:
            host, _, port = entry.partition(":")
        try:
            servers.append(dns.nameserver.Do53Nameserver(str(ipaddress.ip_address(host)), int(port)))
        except ValueError:
            raise ImproperlyConfigured(
                f"DOMAIN_VERIFICATION_NAMESERVERS: {entry!r} is not an IP address or IP:port."
            ) from None
    return servers


def _check_txt(domain: Domain) -> None:
    """VerificationFailed unless a TXT record at ``_tenant-domain.<domain>`` holds the token (one of
    them: a name may have several).

    dnspython rather than a hand-made query: it follows the system's resolver configuration,
    retries over TCP on a truncated answer and joins a record's strings. The whole lookup is
    bounded by DOMAIN_VERIFICATION_TIMEOUT_SECONDS; every DNS failure is a VerificationFailed."""
    name = txt_record_name(domain)
    timeout = settings.DOMAIN_VERIFICATION_TIMEOUT_SECONDS
    servers = _nameservers()
    try:
        resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            resolver.nameservers = servers
        resolver.timeout = resolver.lifetime = timeout
        answer = resolver.resolve(name, "TXT", search=False)
    except dns.resolver.NXDOMAIN:
        raise VerificationFailed(f"no such name (NXDOMAIN): {name}.") from None
    except dns.resolver.NoAnswer:
        raise VerificationFailed(f"no TXT record at {name}.") from None
    except dns.exception.Timeout:
        raise VerificationFailed(f"no DNS answer within {timeout:g}s for {name}.") from None
    except dns.resolver.NoNameservers:
        raise VerificationFailed(f"the DNS servers failed (SERVFAIL) for {name}.") from None
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise VerificationFailed(f"lookup failed ({exc.__class__.__name__}) for {name}.") from None
    values = {b"".join(record.strings).decode("utf-8", errors="replace").strip() for record in answer}
    if domain.verification_token not in values:
        raise VerificationFailed(f"TXT records, but not the token, at {name}.")


def _both_failed(http_failure: VerificationFailed, txt_failure: VerificationFailed) -> str:
    # Each part bounded, so that both checks are named within the column's 255 characters even
    # for a long domain name; the reasons come before the names, which are what a cut loses.
    def shorten(text, limit):
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return f"{shorten(f'HTTP: {http_failure}', 140)} {shorten(f'TXT: {txt_failure}', 114)}"


def _check_either_way(domain: Domain) -> None:
    """The HTTP check, then the TXT record's if it fails: VerificationFailed naming both when
    neither finds the token."""
    try:
        _check_http(domain)
    except VerificationFailed as http_failure:
        try:
            _check_txt(domain)
        except VerificationFailed as txt_failure:
            raise VerificationFailed(_both_failed(http_failure, txt_failure)) from None


def verify_domain(domain: Domain) -> bool:
    """Check a pending domain now: True when ``http://<domain>/.well-known/tenant-domain/<token>``
    answers the token or, failing that, a TXT record at ``_tenant-domain.<domain>`` holds it (the
    domain then routes, at once: the host cache forgets it). The time of the check and, on
    failure, its reason naming both checks are recorded on the row (``verification_checked_at``,
    ``verification_error``). Never raises for what the network answers (a refused connection,
    NXDOMAIN, SERVFAIL, a timeout): that is a failure with its reason. A verified domain is left
    alone and gives True."""
    if domain.verified_at:
        return True
    now = timezone.now()
    try:
        _check_either_way(domain)
    except VerificationFailed as failure:
        domain.verification_checked_at, domain.verification_error = now, str(failure)[:255]
        Domain.objects.filter(pk=domain.pk).update(
            verification_checked_at=now, verification_error=domain.verification_error
        )
        logger.info("custom domain %s not verified: %s", domain.domain, failure)
        return False
    # Conditional: a concurrent check that won keeps its time; the queryset update forgets the host.
    Domain.objects.filter(pk=domain.pk, verified_at__isnull=True).update(
        verified_at=now, verification_checked_at=now, verification_error=""
    )
    domain.refresh_from_db(fields=["verified_at", "verification_checked_at", "verification_error"])
    logger.info("custom domain %s verified for tenant %s", domain.domain, domain.tenant_id)
    return True


def pending_domains_to_check():
    """Pending custom domains the beat job re-checks: added within DOMAIN_VERIFICATION_PENDING_DAYS,
    least recently checked first, at most DOMAIN_VERIFICATION_BATCH per run."""
    since = timezone.now() - timedelta(days=settings.DOMAIN_VERIFICATION_PENDING_DAYS)
    pending = Domain.objects.filter(
        verified_at__isnull=True, created_at__gte=since, tenant__status=Tenant.Status.ACTIVE
    ).order_by("verification_checked_at", "created_at")
    return pending[: settings.DOMAIN_VERIFICATION_BATCH]


# --- Primary and removal ---------------------------------------------------------------------------


def _forget_hosts_of(tenant: Tenant) -> None:
    # Every cached host of the tenant carries its canonical host.
    host_cache.forget([tenant.primary_host, *tenant.domains.values_list("domain", flat=True)])
    tenant.__dict__.pop("canonical_host", None)


def set_primary_domain(domain: Domain) -> Domain:
    """Make ``domain`` its tenant's one primary domain: the host of the links the platform makes
    (``Tenant.url``). Only a verified domain; the tenant's subdomain keeps routing."""
    if not domain.verified_at:
        raise ValidationError(
            {"domain": [f"{domain.domain} is not verified yet: only a verified domain can be primary."]}
        )
    tenant = domain.tenant
    with transaction.atomic():
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        Domain.objects.filter(tenant=tenant, is_primary=True).exclude(pk=domain.pk).update(is_primary=False)
        Domain.objects.filter(pk=domain.pk).update(is_primary=True)
        _forget_hosts_of(tenant)
    domain.is_primary = True
    logger.info("tenant %s: primary domain is now %s", tenant.slug, domain.domain)
    return domain


def remove_custom_domain(domain: Domain) -> None:
    """Delete a custom domain; the tenant's subdomain becomes primary again if it was. The
    platform's names (the tenant's own subdomain) are never removed here."""
    if not is_custom(domain):
        raise ValidationError(
            {"domain": [f"{domain.domain} is the tenant's own address; it cannot be removed."]}
        )
    tenant = domain.tenant
    with transaction.atomic():
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        if domain.is_primary:
            Domain.objects.filter(tenant=tenant, domain=tenant.primary_host).update(is_primary=True)
        domain.delete()
        _forget_hosts_of(tenant)
    logger.info("tenant %s removed custom domain %s", tenant.slug, domain.domain)
