"""The operator API's custom domains of a tenant (tenants.domains behind it)."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants import domains
from tenants.models import Domain, Tenant
from tests.clients import api_client_for, issue_token
from tests.dns_server import LocalDNSServer

SHOP = "shop.acme-example.test"


def url(tenant, *rest) -> str:
    return "/".join([f"/api/v1/tenants/{tenant.public_id}/domains", *map(str, rest), ""])


@pytest.mark.django_db
def test_an_operator_adds_a_domain_and_sees_its_token_and_instructions(tenant, operator_api):
    response = operator_api.post(url(tenant), {"domain": "Shop.Acme-Example.test"}, format="json")
    assert response.status_code == 201
    body = response.json()
    row = Domain.objects.get(domain=SHOP)
    assert body["id"] == str(row.public_id) and body["domain"] == SHOP
    assert (body["verified"], body["is_primary"], body["custom"]) == (False, False, True)
    assert body["verification_token"] == row.verification_token
    assert body["verification_url"] == f"http://{SHOP}/.well-known/tenant-domain/{row.verification_token}"
    assert body["verification_url"] in body["instructions"]


@pytest.mark.django_db
def test_the_list_shows_the_subdomain_verified_and_a_custom_domain_pending(
    tenant, operator_api, django_assert_max_num_queries
):
    domains.add_custom_domain(tenant, SHOP)
    with django_assert_max_num_queries(8):
        response = operator_api.get(url(tenant))
    assert response.status_code == 200
    listed = {d["domain"]: (d["verified"], d["is_primary"], d["custom"]) for d in response.json()["results"]}
    assert listed == {tenant.primary_host: (True, True, False), SHOP: (False, False, True)}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, message",
    [
        ({"domain": f"evil.{settings.BASE_DOMAIN}"}, "platform's"),
        ({"domain": "not a host"}, "valid hostname"),
        ({"domain": "x" * 254}, "no more than 253"),
        ({"domain": ""}, "may not be blank"),
        ({}, "required"),
    ],
)
def test_an_invalid_domain_is_a_400_with_a_field_error(tenant, operator_api, body, message):
    response = operator_api.post(url(tenant), body, format="json")
    assert response.status_code == 400
    assert message in response.json()["domain"][0]
    assert Domain.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db
def test_a_domain_taken_by_another_tenant_is_a_400(tenant, other_tenant, operator_api):
    domains.add_custom_domain(other_tenant, SHOP)
    response = operator_api.post(url(tenant), {"domain": SHOP}, format="json")
    assert response.status_code == 400
    assert response.json() == {"domain": [f"{SHOP} is already taken."]}


@pytest.mark.django_db(transaction=True)
def test_verify_then_make_primary_moves_the_tenants_url(tenant, operator, settings, live_server):
    settings.DOMAIN_VERIFICATION_CONNECT_TO = urlsplit(live_server.url).netloc
    operator_api = api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))
    domain = domains.add_custom_domain(tenant, SHOP)

    early = operator_api.post(url(tenant, domain.public_id, "make-primary"))
    assert early.status_code == 400 and "not verified" in early.json()["domain"][0]

    verified = operator_api.post(url(tenant, domain.public_id, "verify"))
    assert verified.status_code == 200
    assert verified.json()["verified"] is True and verified.json()["verification_error"] == ""

    primary = operator_api.post(url(tenant, domain.public_id, "make-primary"))
    assert primary.status_code == 200 and primary.json()["is_primary"] is True
    tenant_url = operator_api.get(f"/api/v1/tenants/{tenant.public_id}/").json()["url"]
    assert urlsplit(tenant_url).hostname == SHOP


@pytest.mark.django_db
def test_a_failed_verification_answers_the_reason(tenant, operator_api, settings):
    settings.DOMAIN_VERIFICATION_CONNECT_TO = "127.0.0.1:9"  # the discard port: nothing listens
    dns = LocalDNSServer()  # knows no TXT record
    settings.DOMAIN_VERIFICATION_NAMESERVERS = dns.address
    domain = domains.add_custom_domain(tenant, SHOP)
    try:
        response = operator_api.post(url(tenant, domain.public_id, "verify"))
    finally:
        dns.close()
    assert response.status_code == 200
    assert response.json()["verified"] is False
    error = response.json()["verification_error"]
    assert "HTTP: the token URL could not be fetched" in error
    assert f"TXT: no such name (NXDOMAIN): _tenant-domain.{SHOP}." in error


@pytest.mark.django_db
def test_removing_a_custom_domain_and_refusing_the_subdomain(tenant, operator_api):
    domain = domains.add_custom_domain(tenant, SHOP)
    assert operator_api.delete(url(tenant, domain.public_id)).status_code == 204
    assert not Domain.objects.filter(domain=SHOP).exists()

    subdomain = Domain.objects.get(domain=tenant.primary_host)
    response = operator_api.delete(url(tenant, subdomain.public_id))
    assert response.status_code == 400 and "own address" in response.json()["domain"][0]
    assert Domain.objects.filter(pk=subdomain.pk).exists()


@pytest.mark.django_db
def test_another_tenants_domain_id_is_a_404_on_every_route(tenant, other_tenant, operator_api):
    theirs = domains.add_custom_domain(other_tenant, "store.globex-example.test")
    Domain.objects.filter(pk=theirs.pk).update(verified_at=timezone.now())
    assert operator_api.get(url(tenant, theirs.public_id)).status_code == 404
    assert operator_api.delete(url(tenant, theirs.public_id)).status_code == 404
    assert operator_api.post(url(tenant, theirs.public_id, "verify")).status_code == 404
    assert operator_api.post(url(tenant, theirs.public_id, "make-primary")).status_code == 404
    assert Domain.objects.filter(pk=theirs.pk, is_primary=False).exists()
    assert (
        Tenant.objects.get(pk=other_tenant.pk)
        .url()
        .startswith(f"{settings.PUBLIC_SCHEME}://{other_tenant.primary_host}")
    )


@pytest.mark.django_db
def test_only_operators_reach_the_domain_routes(tenant, owner, root_api):
    domain = domains.add_custom_domain(tenant, SHOP)
    tenant_token = api_client_for(settings.BASE_DOMAIN, issue_token(tenant, owner))
    for client, status in ((root_api, 401), (tenant_token, 401)):
        assert client.get(url(tenant)).status_code == status
        assert client.post(url(tenant), {"domain": "x.example.com"}, format="json").status_code == status
        assert client.post(url(tenant, domain.public_id, "verify")).status_code == status
        assert client.delete(url(tenant, domain.public_id)).status_code == status
    assert Domain.objects.filter(tenant=tenant).count() == 2


@pytest.mark.django_db
def test_the_tenant_list_links_each_tenant_on_its_primary_domain_in_one_query(
    tenant, other_tenant, operator_api
):
    shop = domains.add_custom_domain(tenant, SHOP)
    Domain.objects.filter(pk=shop.pk).update(verified_at=timezone.now())
    domains.set_primary_domain(Domain.objects.get(pk=shop.pk))
    operator_api.get("/api/v1/tenants/")  # warm what a first request loads
    with CaptureQueriesContext(connection) as queries:
        response = operator_api.get("/api/v1/tenants/")
    urls = {t["slug"]: urlsplit(t["url"]).hostname for t in response.json()["results"]}
    assert urls == {"acme": SHOP, "globex": other_tenant.primary_host}
    domain_queries = [q for q in queries.captured_queries if "tenants_domain" in q["sql"]]
    assert len(domain_queries) == 1
