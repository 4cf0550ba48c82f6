"""Custom domains verified by a TXT record at ``_tenant-domain.<domain>`` (tenants.domains.verify_domain),
against a local DNS server; the HTTP way is unreachable in every test here, so only the TXT record
can verify (the HTTP way itself: test_custom_domains.py)."""

import socket
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from tenants import domains
from tenants.models import Domain
from tests.clients import api_client_for, host_client, issue_token
from tests.dns_server import LocalDNSServer, silent_udp_port

SHOP = "shop.acme-example.test"
TXT_NAME = f"_tenant-domain.{SHOP}"


@pytest.fixture(autouse=True)
def web_unreachable(settings):
    """The HTTP check connects to a port nothing listens on: refused at once."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    settings.DOMAIN_VERIFICATION_CONNECT_TO = f"127.0.0.1:{probe.getsockname()[1]}"
    probe.close()


@pytest.fixture
def dns_server(settings):
    servers = []

    def start(**kwargs) -> LocalDNSServer:
        server = LocalDNSServer(**kwargs)
        servers.append(server)
        settings.DOMAIN_VERIFICATION_NAMESERVERS = server.address
        return server

    yield start
    for server in servers:
        server.close()


def timed_verify(domain) -> tuple[bool, float]:
    started = time.monotonic()
    result = domains.verify_domain(domain)
    return result, time.monotonic() - started


@pytest.mark.django_db
def test_a_txt_record_with_the_token_alone_verifies_the_domain_and_it_then_routes(tenant, dns_server):
    domain = domains.add_custom_domain(tenant, SHOP)
    server = dns_server(txt={TXT_NAME: ["an-unrelated-record", domain.verification_token]})
    client = host_client(SHOP)
    assert client.get("/admin/login/").status_code == 404  # cached as serving no tenant

    assert domains.verify_domain(domain) is True
    assert server.queries == [(TXT_NAME, "TXT")]
    row = Domain.objects.get(pk=domain.pk)
    assert row.verified_at is not None and row.verification_error == ""
    response = client.get("/admin/login/")
    assert response.status_code == 200 and b"Acme admin" in response.content


@pytest.mark.django_db
def test_a_wrong_txt_value_fails_with_a_short_reason_naming_both_checks(tenant, dns_server):
    domain = domains.add_custom_domain(tenant, SHOP)
    dns_server(txt={TXT_NAME: ["not-the-token"]})

    assert domains.verify_domain(domain) is False
    row = Domain.objects.get(pk=domain.pk)
    assert row.verified_at is None and row.verification_checked_at is not None
    http_part, txt_part = row.verification_error.split(" TXT: ")
    assert http_part.startswith("HTTP: the token URL could not be fetched (ConnectionRefusedError")
    assert txt_part == f"TXT records, but not the token, at {TXT_NAME}."
    assert "not-the-token" not in row.verification_error  # what the customer's zone holds is not echoed
    assert host_client(SHOP).get("/admin/login/").status_code == 404


@pytest.mark.django_db
def test_a_name_without_a_txt_record_fails_quickly_with_nxdomain_as_the_reason(tenant, dns_server):
    domain = domains.add_custom_domain(tenant, SHOP)
    server = dns_server()  # knows no name

    verified, elapsed = timed_verify(domain)
    assert verified is False and elapsed < 1
    assert server.queries == [(TXT_NAME, "TXT")]
    assert domain.verification_error.endswith(f"TXT: no such name (NXDOMAIN): {TXT_NAME}.")


@pytest.mark.django_db
def test_a_dns_server_failure_is_a_clean_failure(tenant, dns_server):
    domain = domains.add_custom_domain(tenant, SHOP)
    dns_server(rcode="SERVFAIL")

    assert domains.verify_domain(domain) is False
    assert domain.verification_error.endswith(f"TXT: the DNS servers failed (SERVFAIL) for {TXT_NAME}.")


@pytest.mark.django_db
def test_a_dns_server_that_never_answers_fails_within_the_timeout(tenant, settings):
    domain = domains.add_custom_domain(tenant, SHOP)
    silent = silent_udp_port()
    try:
        settings.DOMAIN_VERIFICATION_NAMESERVERS = f"127.0.0.1:{silent.getsockname()[1]}"
        settings.DOMAIN_VERIFICATION_TIMEOUT_SECONDS = 0.5

        verified, elapsed = timed_verify(domain)
        # The query did reach the silent server: the failure is its silence, not a send error.
        silent.settimeout(1)
        query, _ = silent.recvfrom(512)
    finally:
        silent.close()
    assert b"_tenant-domain" in query
    assert verified is False and 0.5 <= elapsed < 2
    assert domain.verification_error.endswith(f"TXT: no DNS answer within 0.5s for {TXT_NAME}.")
    assert Domain.objects.get(pk=domain.pk).verification_error == domain.verification_error


@pytest.mark.django_db
def test_a_very_long_name_fails_cleanly_and_the_reason_still_names_both_checks(tenant, dns_server):
    hostname = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 50, "test"])  # 248 characters
    domain = domains.add_custom_domain(tenant, hostname)
    server = dns_server()

    assert domains.verify_domain(domain) is False
    assert server.queries == []  # _tenant-domain.<name> is longer than DNS allows: never asked
    error = Domain.objects.get(pk=domain.pk).verification_error
    assert len(error) <= 255
    assert error.startswith("HTTP: the token URL could not be fetched")
    assert " TXT: lookup failed (NameTooLong) for _tenant-domain.aaa" in error


@pytest.mark.django_db
def test_a_nameserver_setting_that_is_no_address_is_a_configuration_error(tenant, settings):
    domain = domains.add_custom_domain(tenant, SHOP)
    settings.DOMAIN_VERIFICATION_NAMESERVERS = "127.0.0.1:53, dns.example.org"
    with pytest.raises(ImproperlyConfigured, match=r"'dns\.example\.org' is not an IP address"):
        domains.verify_domain(domain)


@pytest.mark.django_db
def test_the_operator_is_told_both_ways_by_the_api_and_the_command(tenant, operator):
    api = api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))
    response = api.post(f"/api/v1/tenants/{tenant.public_id}/domains/", {"domain": SHOP}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    for text in (body["verification_url"], f"TXT record at {TXT_NAME}", body["verification_token"]):
        assert text in body["instructions"]

    out = StringIO()
    call_command("tenant_domains", "acme", "add", "other.acme-example.test", stdout=out)
    other = Domain.objects.get(domain="other.acme-example.test")
    assert (
        f"TXT record at _tenant-domain.{other.domain} whose value is the token, {other.verification_token}"
        in out.getvalue()
    )
    listing = StringIO()
    call_command("tenant_domains", "acme", "list", stdout=listing)
    assert f"or in a TXT record at _tenant-domain.{other.domain}" in listing.getvalue()
