"""Custom domains (tenants.domains): added unverified, verified by the token served on them, then
routed like the tenant's subdomain; the primary one is where links go; the reverse proxy asks
which hosts may get a certificate."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from tenants import domains
from tenants.models import Domain, Tenant
from tenants.routing import tenant_for_host
from tenants.services import suspend_tenant
from tests.clients import api_client_for, host_client, issue_token, signed_in_client
from tests.dns_server import LocalDNSServer
from tests.worker import publishing_to, wait_until

SHOP = "shop.acme-example.test"
GLOBEX_SHOP = "store.globex-example.test"


def verified(tenant, hostname) -> Domain:
    """A custom domain as verification leaves it (verification itself is tested below)."""
    domain = domains.add_custom_domain(tenant, hostname)
    Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
    domain.refresh_from_db()
    return domain


def token_path(domain: Domain) -> str:
    return f"/.well-known/tenant-domain/{domain.verification_token}"


@pytest.fixture(autouse=True)
def no_txt_records(settings):
    """The TXT check (tested in test_custom_domain_dns.py) asks a local DNS server that knows no
    name, never the machine's resolver: here only the HTTP way can verify."""
    server = LocalDNSServer()
    settings.DOMAIN_VERIFICATION_NAMESERVERS = server.address
    yield server
    server.close()


@pytest.fixture
def verifier(settings, live_server):
    """The verifier connects to this test's live server, sending the custom domain as Host."""
    settings.DOMAIN_VERIFICATION_CONNECT_TO = urlsplit(live_server.url).netloc
    return live_server


class CustomerServer:
    """Someone else's web server at the customer's address: answers every GET with ``status`` and
    ``body`` (and a Location header for a redirect)."""

    def __init__(self, status=200, body=b"", location=None):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append((self.headers["Host"], self.path))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def customer_server(settings):
    servers = []

    def start(**kwargs):
        server = CustomerServer(**kwargs)
        servers.append(server)
        settings.DOMAIN_VERIFICATION_CONNECT_TO = server.address
        return server

    yield start
    for server in servers:
        server.close()


# --- Adding ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_custom_domain_is_pending_not_primary_and_has_a_random_token(tenant):
    first = domains.add_custom_domain(tenant, "  Shop.Acme-Example.TEST. ")
    second = domains.add_custom_domain(tenant, "www2.acme-example.test")
    assert first.domain == SHOP
    assert first.verified_at is None and not first.is_primary
    assert len(first.verification_token) >= 40 and first.verification_token != second.verification_token
    assert Domain.objects.get(domain=tenant.primary_host).is_primary


@pytest.mark.django_db
@pytest.mark.parametrize(
    "hostname, message",
    [
        ("", "valid hostname"),
        ("localhost-only", "valid hostname"),
        ("exa mple.com", "valid hostname"),
        ("-shop.example.com", "valid hostname"),
        ("a" * 64 + ".example.com", "valid hostname"),
        ("10.0.0.1", "valid hostname"),
        ("https://shop.example.com/", "without scheme"),
        ("shop.example.com:8443", "without scheme"),
        (settings.BASE_DOMAIN, "platform's"),
        (f"globex.{settings.BASE_DOMAIN}", "platform's"),
        (f"new-tenant.{settings.BASE_DOMAIN}", "platform's"),
        ("www.shop.example.com", "www. name is served with it"),
    ],
)
def test_an_invalid_or_platform_hostname_is_a_field_error(tenant, hostname, message):
    with pytest.raises(ValidationError) as error:
        domains.add_custom_domain(tenant, hostname)
    assert message in " ".join(error.value.message_dict["domain"])
    assert not Domain.objects.filter(tenant=tenant).exclude(domain=tenant.primary_host).exists()


@pytest.mark.django_db
def test_a_domain_taken_by_any_tenant_is_refused(tenant, other_tenant):
    domains.add_custom_domain(other_tenant, GLOBEX_SHOP)
    for who in (tenant, other_tenant):
        with pytest.raises(ValidationError) as error:
            domains.add_custom_domain(who, GLOBEX_SHOP.upper())
        assert error.value.message_dict == {"domain": [f"{GLOBEX_SHOP} is already taken."]}


@pytest.mark.django_db
def test_a_tenant_has_at_most_the_configured_number_of_custom_domains(tenant, other_tenant, settings):
    settings.TENANT_MAX_CUSTOM_DOMAINS = 2
    domains.add_custom_domain(tenant, "one.acme-example.test")
    domains.add_custom_domain(tenant, "two.acme-example.test")
    with pytest.raises(ValidationError) as error:
        domains.add_custom_domain(tenant, "three.acme-example.test")
    assert "at most 2 custom domains" in error.value.message_dict["domain"][0]
    # The subdomain does not count, and the limit is each tenant's own.
    domains.add_custom_domain(other_tenant, "one.globex-example.test")


# --- Routing and the token -------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unverified_domain_does_not_route_but_serves_its_token(tenant):
    domain = domains.add_custom_domain(tenant, SHOP)
    client = host_client(SHOP)

    page = client.get("/admin/login/")
    assert page.status_code == 404 and b"Acme" not in page.content
    api = client.get("/api/v1/me/")
    assert api.status_code == 404
    assert api.json() == {"detail": "There is no workspace at this address."}

    answer = client.get(token_path(domain))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain"
    assert answer.content.decode() == domain.verification_token


@pytest.mark.django_db
def test_the_token_path_answers_404_for_another_token_another_host_or_a_verified_domain(tenant, other_tenant):
    domain = domains.add_custom_domain(tenant, SHOP)
    other = domains.add_custom_domain(other_tenant, GLOBEX_SHOP)
    assert host_client(SHOP).get(token_path(other)).status_code == 404  # globex's token on acme's name
    assert host_client(SHOP).get("/.well-known/tenant-domain/").status_code == 404
    assert host_client(SHOP).get("/.well-known/tenant-domain/" + "x" * 5000).status_code == 404
    assert host_client(tenant.primary_host).get(token_path(domain)).status_code == 404
    assert host_client("nowhere.example.org").get(token_path(domain)).status_code == 404
    assert host_client(SHOP).post(token_path(domain)).status_code == 404

    Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
    assert host_client(SHOP).get(token_path(domain)).status_code == 404


@pytest.mark.django_db
def test_a_host_that_is_no_domain_of_the_platform_is_a_400(db):
    assert host_client("nowhere.example.org").get("/").status_code == 400
    assert host_client("nowhere.example.org").get("/api/v1/me/").json() == {
        "detail": "The Host header names no valid hostname."
    }


@pytest.mark.django_db
def test_a_verified_custom_domain_routes_pages_api_and_admin_to_its_tenant(tenant, owner):
    verified(tenant, SHOP)
    admin_page = host_client(SHOP).get("/admin/login/")
    assert admin_page.status_code == 200 and b"Acme admin" in admin_page.content
    # The www. name is served with it, like the subdomain's.
    assert b"Acme admin" in host_client(f"www.{SHOP}").get("/admin/login/").content

    api = api_client_for(SHOP, issue_token(tenant, owner)).get("/api/v1/me/")
    assert api.status_code == 200 and api.json()["email"] == "owner@acme.test"

    browser = signed_in_client(tenant, owner)
    browser.defaults["HTTP_HOST"] = SHOP
    assert browser.get("/api/v1/me/").json()["email"] == "owner@acme.test"


@pytest.mark.django_db
def test_a_session_or_token_of_acme_fails_on_globexs_custom_domain(tenant, other_tenant, owner):
    verified(other_tenant, GLOBEX_SHOP)
    assert api_client_for(GLOBEX_SHOP, issue_token(tenant, owner)).get("/api/v1/me/").status_code == 401

    browser = signed_in_client(tenant, owner)
    browser.defaults["HTTP_HOST"] = GLOBEX_SHOP
    assert browser.get("/api/v1/me/").status_code == 401
    admin_page = browser.get("/admin/")
    assert admin_page.status_code == 302 and "/admin/login/" in admin_page["Location"]


@pytest.mark.django_db
def test_a_suspended_tenants_custom_domain_answers_suspended(tenant):
    verified(tenant, SHOP)
    suspend_tenant(tenant, "unpaid")
    assert host_client(SHOP).get("/admin/login/").status_code == 403


# --- Verification ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_verification_fetches_the_token_from_the_domain_and_then_the_domain_routes(tenant, verifier):
    domain = domains.add_custom_domain(tenant, SHOP)
    client = host_client(SHOP)
    assert client.get("/admin/login/").status_code == 404  # the host is now cached as serving no tenant

    assert domains.verify_domain(domain) is True
    domain.refresh_from_db()
    assert domain.verified_at is not None and domain.verification_checked_at is not None
    assert domain.verification_error == ""
    # At once: the verification forgot the cached "no tenant" answer.
    response = client.get("/admin/login/")
    assert response.status_code == 200 and b"Acme admin" in response.content


@pytest.mark.django_db(transaction=True)
def test_a_wrong_token_fails_with_a_clear_reason_and_the_domain_stays_unrouted(tenant, verifier):
    domain = domains.add_custom_domain(tenant, SHOP)
    domain.verification_token = "not-the-token-the-platform-serves"  # what the live server never serves

    assert domains.verify_domain(domain) is False
    row = Domain.objects.get(pk=domain.pk)
    assert row.verified_at is None and row.verification_checked_at is not None
    assert row.verification_error == (
        "HTTP: the token URL answered 404, not 200 with the token. "
        f"TXT: no such name (NXDOMAIN): _tenant-domain.{SHOP}."
    )
    assert host_client(SHOP).get("/admin/login/").status_code == 404


@pytest.mark.django_db
def test_a_server_answering_something_else_or_redirecting_does_not_verify(tenant, customer_server):
    domain = domains.add_custom_domain(tenant, SHOP)
    other = customer_server(body=b"x" * 5000)
    assert domains.verify_domain(domain) is False
    assert other.requests == [(SHOP, token_path(domain))]
    assert "answered something other than the token" in domain.verification_error

    customer_server(status=301, location=f"https://evil.example.org{token_path(domain)}")
    assert domains.verify_domain(domain) is False
    assert "answered 301" in domain.verification_error
    assert Domain.objects.get(pk=domain.pk).verified_at is None


@pytest.mark.django_db
def test_an_unreachable_domain_fails_with_the_reason(tenant, settings, customer_server):
    domain = domains.add_custom_domain(tenant, SHOP)
    server = customer_server()
    server.close()  # nothing listens there any more
    assert domains.verify_domain(domain) is False
    assert "could not be fetched (ConnectionRefusedError" in domain.verification_error


@pytest.mark.django_db
def test_a_name_resolving_to_a_private_address_is_not_fetched(tenant, settings):
    settings.DOMAIN_VERIFICATION_CONNECT_TO = ""
    domain = domains.add_custom_domain(tenant, "localhost.acme-example.test")
    domain.domain = "localhost"  # resolves to the loopback address, from /etc/hosts
    assert domains.verify_domain(domain) is False
    assert domain.verification_error.startswith("HTTP: localhost resolves to no public address. TXT: ")


@pytest.mark.django_db(transaction=True)
def test_the_beat_job_verifies_pending_domains_in_a_real_worker(tenant, live_server, start_worker):
    from tenants.tasks import verify_pending_domains

    domain = domains.add_custom_domain(tenant, SHOP)
    worker = start_worker(DOMAIN_VERIFICATION_CONNECT_TO=urlsplit(live_server.url).netloc)
    with publishing_to(worker.queue):
        verify_pending_domains.delay()
    wait_until(lambda: Domain.objects.get(pk=domain.pk).verified_at, timeout=60)
    assert b"Acme admin" in host_client(SHOP).get("/admin/login/").content


def test_beat_schedules_the_pending_domains_check():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["tenants-verify-pending-domains"]
    assert entry["task"] == "tenants.verify_pending_domains" and entry["task"] in app.tasks


@pytest.mark.django_db
def test_the_beat_job_checks_only_recent_pending_domains_of_active_tenants(tenant, other_tenant, settings):
    settings.DOMAIN_VERIFICATION_PENDING_DAYS = 7
    recent = domains.add_custom_domain(tenant, SHOP)
    old = domains.add_custom_domain(tenant, "old.acme-example.test")
    Domain.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(days=8))
    verified(tenant, "done.acme-example.test")
    domains.add_custom_domain(other_tenant, GLOBEX_SHOP)
    suspend_tenant(other_tenant, "unpaid")
    assert list(domains.pending_domains_to_check()) == [recent]


# --- Primary and removal ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_a_verified_domain_can_be_primary(tenant):
    domain = domains.add_custom_domain(tenant, SHOP)
    with pytest.raises(ValidationError) as error:
        domains.set_primary_domain(domain)
    assert "not verified" in error.value.message_dict["domain"][0]
    assert Domain.objects.get(domain=tenant.primary_host).is_primary


@pytest.mark.django_db
def test_switching_the_primary_moves_the_links_and_both_hosts_keep_routing(tenant):
    shop = verified(tenant, SHOP)
    subdomain_url = f"{settings.PUBLIC_SCHEME}://{tenant.primary_host}"
    assert Tenant.objects.get(pk=tenant.pk).url("/x/").startswith(subdomain_url)
    host_client(tenant.primary_host).get("/admin/login/")  # warm the subdomain's cache entry

    domains.set_primary_domain(shop)
    assert list(Domain.objects.filter(tenant=tenant, is_primary=True).values_list("domain", flat=True)) == [
        SHOP
    ]
    fresh = Tenant.objects.get(pk=tenant.pk)
    assert fresh.url("/x/") == f"{settings.PUBLIC_SCHEME}://{SHOP}:{settings.PUBLIC_PORT}/x/"
    assert fresh.primary_host == f"acme.{settings.BASE_DOMAIN}"  # the subdomain: the lifecycle's name
    # A tenant read through routing (as request.tenant and the emails of a request see it) too.
    routed = tenant_for_host(tenant.primary_host)
    assert routed.url("/") == f"{settings.PUBLIC_SCHEME}://{SHOP}:{settings.PUBLIC_PORT}/"
    for host in (SHOP, tenant.primary_host):
        assert b"Acme admin" in host_client(host).get("/admin/login/").content, host

    subdomain = Domain.objects.get(domain=tenant.primary_host)
    domains.set_primary_domain(subdomain)
    assert Tenant.objects.get(pk=tenant.pk).url("/").startswith(subdomain_url)


@pytest.mark.django_db
def test_removing_the_primary_custom_domain_gives_the_primary_back_to_the_subdomain(tenant):
    shop = verified(tenant, SHOP)
    domains.set_primary_domain(shop)
    domains.remove_custom_domain(shop)
    assert not Domain.objects.filter(domain=SHOP).exists()
    assert Domain.objects.get(domain=tenant.primary_host).is_primary
    assert tenant_url_host(tenant) == tenant.primary_host
    assert host_client(SHOP).get("/admin/login/").status_code == 400  # no domain of the platform now


def tenant_url_host(tenant) -> str:
    return urlsplit(Tenant.objects.get(pk=tenant.pk).url()).hostname


@pytest.mark.django_db
def test_the_tenants_own_subdomain_cannot_be_removed(tenant):
    subdomain = Domain.objects.get(domain=tenant.primary_host)
    with pytest.raises(ValidationError) as error:
        domains.remove_custom_domain(subdomain)
    assert "own address" in error.value.message_dict["domain"][0]
    assert Domain.objects.filter(pk=subdomain.pk).exists()


# --- The reverse proxy's question ------------------------------------------------------------------


def ask(host: str):
    # Caddy asks from inside the network, with its own Host (the service's name).
    return Client(HTTP_HOST="web:8000").get("/-/tls/allowed/", {"domain": host})


@pytest.mark.django_db
def test_the_tls_ask_allows_the_root_domain_tenant_subdomains_and_verified_domains(tenant):
    verified(tenant, SHOP)
    for host in (settings.BASE_DOMAIN, tenant.primary_host, SHOP, f"www.{SHOP}"):
        response = ask(host)
        assert response.status_code == 200, host


@pytest.mark.django_db
@pytest.mark.parametrize(
    "host",
    [
        "pending.acme-example.test",
        f"nosuch.{settings.BASE_DOMAIN}",
        "nowhere.example.org",
        "127.0.0.1",
        "a" * 300,
        "exa mple.com",
        "-bad-.example.com",
        "x" * 63 + "." + "y" * 63 + "." + "z" * 63 + "." + "w" * 63 + ".com",
    ],
)
def test_the_tls_ask_refuses_pending_unknown_and_hostile_hosts(tenant, host):
    domains.add_custom_domain(tenant, "pending.acme-example.test")
    assert ask(host).status_code == 404


@pytest.mark.django_db
def test_the_tls_ask_refuses_the_hosts_of_suspended_and_deleted_tenants(tenant, other_tenant):
    verified(tenant, SHOP)
    verified(other_tenant, GLOBEX_SHOP)
    assert ask(SHOP).status_code == ask(GLOBEX_SHOP).status_code == 200  # now cached

    suspend_tenant(tenant, "unpaid")
    Tenant.objects.filter(pk=other_tenant.pk).update(status=Tenant.Status.DELETED)
    for host in (SHOP, tenant.primary_host, GLOBEX_SHOP, other_tenant.primary_host):
        assert ask(host).status_code == 404, host


@pytest.mark.django_db
def test_the_tls_ask_wants_a_get_with_a_domain(db):
    client = Client(HTTP_HOST="web:8000")
    assert client.get("/-/tls/allowed/").status_code == 400
    assert client.post("/-/tls/allowed/?domain=localhost").status_code == 400


@pytest.mark.django_db
def test_a_warm_tls_ask_costs_no_query(tenant, django_assert_num_queries):
    ask(tenant.primary_host)
    with django_assert_num_queries(0):
        assert ask(tenant.primary_host).status_code == 200


# --- The command -----------------------------------------------------------------------------------


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("tenant_domains", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_adds_lists_and_removes_a_domain(tenant):
    assert "Added shop.acme-example.test to acme (pending)." in run("acme", "add", SHOP)
    listing = run("acme", "list")
    token = Domain.objects.get(domain=SHOP).verification_token
    assert f"{SHOP}  pending" in listing and f"token: {token}" in listing
    assert f"{tenant.primary_host}  verified primary" in listing
    assert "Removed" in run("acme", "remove", SHOP)
    assert not Domain.objects.filter(domain=SHOP).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (("acme", "add", f"x.{settings.BASE_DOMAIN}"), "platform's"),
        (("acme", "add", "not a host"), "valid hostname"),
        (("acme", "add"), "needs a host"),
        (("acme", "primary", SHOP), "not verified"),
        (("acme", "remove", f"acme.{settings.BASE_DOMAIN}"), "own address"),
        (("acme", "verify", "nosuch.example.com"), "has no domain"),
        (("nosuch", "list"), "no tenant with slug"),
    ],
)
def test_the_command_refuses_with_a_clear_error(tenant, args, message):
    domains.add_custom_domain(tenant, SHOP)
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.django_db
def test_the_command_makes_a_verified_domain_primary(tenant):
    verified(tenant, SHOP)
    assert "is now acme's primary domain" in run("acme", "primary", SHOP)
    assert tenant_url_host(tenant) == SHOP


@pytest.mark.django_db(transaction=True)
def test_the_command_verifies_a_domain(tenant, verifier):
    domains.add_custom_domain(tenant, SHOP)
    assert f"{SHOP} is verified." in run("acme", "verify", SHOP)
    assert Domain.objects.get(domain=SHOP).verified_at is not None


@pytest.mark.django_db
def test_the_command_says_why_a_domain_is_not_verified(tenant, customer_server):
    domains.add_custom_domain(tenant, SHOP)
    customer_server(status=404)
    with pytest.raises(CommandError, match="answered 404"):
        run("acme", "verify", SHOP)
