"""The global admin's custom domains: every change goes through tenants.domains."""

import pytest
from django.conf import settings
from django.utils import timezone

from tenants import domains
from tenants.models import Domain, Tenant
from tests.dns_server import LocalDNSServer

pytestmark = pytest.mark.django_db

SHOP = "shop.acme-example.test"
ADD = "/admin/tenants/domain/add/"
LIST = "/admin/tenants/domain/"


@pytest.fixture
def admin_client(operator, root_client):
    root_client.force_login(operator)
    return root_client


def verified(tenant, hostname) -> Domain:
    domain = domains.add_custom_domain(tenant, hostname)
    Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
    domain.refresh_from_db()
    return domain


def test_adding_a_domain_in_the_admin_makes_a_pending_one_with_a_token(tenant, admin_client):
    response = admin_client.post(ADD, {"tenant": tenant.pk, "domain": "Shop.Acme-Example.test"})
    assert response.status_code == 302
    domain = Domain.objects.get(domain=SHOP)
    assert domain.verified_at is None and not domain.is_primary and domain.verification_token

    page = admin_client.get(f"{LIST}{domain.pk}/change/").content.decode()
    assert domain.verification_token in page and "pending" in page


@pytest.mark.parametrize(
    "hostname, message",
    [
        (f"evil.{settings.BASE_DOMAIN}", "are the platform&#x27;s"),
        ("not a host", "Enter a valid hostname"),
        ("store.globex-example.test", "is already taken"),
    ],
)
def test_a_bad_domain_is_a_form_error_and_adds_nothing(tenant, other_tenant, admin_client, hostname, message):
    domains.add_custom_domain(other_tenant, "store.globex-example.test")
    before = Domain.objects.count()
    response = admin_client.post(ADD, {"tenant": tenant.pk, "domain": hostname})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Domain.objects.count() == before


def test_the_tenant_page_lists_its_domains_read_only_with_their_state(tenant, admin_client):
    domain = domains.add_custom_domain(tenant, SHOP)
    page = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    assert domain.verification_token in page and "pending" in page and "verified" in page
    assert 'name="domains-0-domain"' not in page  # no editable domain field


def test_the_make_primary_action_moves_the_tenants_links(tenant, admin_client):
    domain = verified(tenant, SHOP)
    response = admin_client.post(
        LIST, {"action": "make_primary", "_selected_action": [domain.pk]}, follow=True
    )
    assert "is now acme&#x27;s primary domain" in response.content.decode()
    assert Tenant.objects.get(pk=tenant.pk).url().startswith(f"{settings.PUBLIC_SCHEME}://{SHOP}")


def test_the_make_primary_action_refuses_a_pending_domain(tenant, admin_client):
    domain = domains.add_custom_domain(tenant, SHOP)
    response = admin_client.post(
        LIST, {"action": "make_primary", "_selected_action": [domain.pk]}, follow=True
    )
    assert "not verified yet" in response.content.decode()
    assert not Domain.objects.get(pk=domain.pk).is_primary


def test_the_verify_action_reports_why_a_domain_is_not_verified(tenant, admin_client, settings):
    settings.DOMAIN_VERIFICATION_CONNECT_TO = "127.0.0.1:9"  # nothing listens on the discard port
    dns = LocalDNSServer()  # knows no TXT record
    settings.DOMAIN_VERIFICATION_NAMESERVERS = dns.address
    domain = domains.add_custom_domain(tenant, SHOP)
    try:
        response = admin_client.post(
            LIST, {"action": "verify_selected", "_selected_action": [domain.pk]}, follow=True
        )
    finally:
        dns.close()
    # The admin capitalises its messages.
    page = response.content.decode()
    assert "hop.acme-example.test is not verified: HTTP: the token URL could not be fetched" in page
    assert f"TXT: no such name (NXDOMAIN): _tenant-domain.{SHOP}." in page
    assert Domain.objects.get(pk=domain.pk).verification_checked_at is not None


def test_a_custom_domain_is_removed_but_the_subdomain_cannot_be(tenant, admin_client):
    domain = domains.add_custom_domain(tenant, SHOP)
    response = admin_client.post(f"{LIST}{domain.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Domain.objects.filter(pk=domain.pk).exists()

    subdomain = Domain.objects.get(domain=tenant.primary_host)
    assert admin_client.post(f"{LIST}{subdomain.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Domain.objects.filter(pk=subdomain.pk).exists()


def test_no_domain_is_changed_through_a_form(tenant, admin_client):
    domain = domains.add_custom_domain(tenant, SHOP)
    admin_client.post(f"{LIST}{domain.pk}/change/", {"tenant": tenant.pk, "domain": "other.example.com"})
    assert Domain.objects.get(pk=domain.pk).domain == SHOP
