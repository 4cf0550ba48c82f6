"""The Host header decides everything: which URLconf, which schema, or which error page."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Domain
from tenants.services import reactivate_tenant, suspend_tenant
from tests.conftest import PASSWORD, host_client

pytestmark = pytest.mark.django_db


def test_root_domain_serves_the_operator_site(root_client):
    response = root_client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Platform operator" in response.content
    assert root_client.get("/").status_code == 200


def test_tenant_domain_serves_the_tenant_admin_branded_with_its_name(tenant_client, other_tenant_client):
    acme = tenant_client.get("/admin/login/")
    globex = other_tenant_client.get("/admin/login/")
    assert acme.status_code == globex.status_code == 200
    assert b"Acme admin" in acme.content and b"Globex" not in acme.content
    assert b"Globex admin" in globex.content and b"Acme" not in globex.content


def test_unknown_subdomain_is_a_plain_404_not_the_public_site(db):
    response = host_client(f"nosuch.{settings.BASE_DOMAIN}").get("/admin/login/")
    assert response.status_code == 404
    assert b"There is no workspace at" in response.content
    assert b"Platform operator" not in response.content


def test_host_outside_the_allowed_hosts_is_a_400(db):
    assert host_client("evil.example.org").get("/").status_code == 400


def test_suspended_tenant_gets_the_suspended_page_until_reactivated(tenant, tenant_client):
    suspend_tenant(tenant, "unpaid invoice")
    response = tenant_client.get("/admin/login/")
    assert response.status_code == 403
    assert b"This workspace is suspended" in response.content

    reactivate_tenant(tenant)
    assert tenant_client.get("/admin/login/").status_code == 200


def test_suspension_of_one_tenant_leaves_the_other_running(tenant, other_tenant_client):
    suspend_tenant(tenant)
    assert other_tenant_client.get("/admin/login/").status_code == 200


def test_a_cold_host_lookup_costs_one_query(tenant_client):
    with CaptureQueriesContext(connection) as queries:
        tenant_client.get("/admin/login/")
    lookups = [q["sql"] for q in queries.captured_queries if "tenants_domain" in q["sql"]]
    assert len(lookups) == 1


def test_a_warm_tenant_host_costs_no_query(tenant_client, django_assert_num_queries):
    tenant_client.get("/admin/login/")
    with django_assert_num_queries(0):
        response = tenant_client.get("/admin/login/")
    assert response.status_code == 200


def test_an_unknown_host_is_cached_too(db, django_assert_num_queries):
    client = host_client(f"nosuch.{settings.BASE_DOMAIN}")
    client.get("/")
    with django_assert_num_queries(0):
        assert client.get("/").status_code == 404


def test_a_new_domain_takes_effect_on_the_next_request(tenant):
    alias = f"acme-alias.{settings.BASE_DOMAIN}"
    client = host_client(alias)
    assert client.get("/admin/login/").status_code == 404  # now cached as unknown

    Domain.objects.create(domain=alias, tenant=tenant, is_primary=False)
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Acme admin" in response.content


def test_a_renamed_domain_takes_effect_on_the_next_request(tenant, tenant_client):
    assert tenant_client.get("/admin/login/").status_code == 200  # warm the cache
    domain = Domain.objects.get(domain=tenant.primary_host)
    domain.domain = f"acme-renamed.{settings.BASE_DOMAIN}"
    domain.save()

    assert tenant_client.get("/admin/login/").status_code == 404
    assert host_client(domain.domain).get("/admin/login/").status_code == 200


def test_each_host_works_in_its_own_schema(tenant, other_tenant, make_user):
    make_user("only-in-acme@example.com", tenant, is_staff=True)
    credentials = {"username": "only-in-acme@example.com", "password": PASSWORD}

    acme = host_client(tenant.primary_host)
    response = acme.post("/admin/login/?next=/admin/", credentials)
    assert response.status_code == 302 and response["Location"] == "/admin/"

    globex = host_client(other_tenant.primary_host)
    response = globex.post("/admin/login/?next=/admin/", credentials)
    assert response.status_code == 200
    assert b"Please enter the correct email address and password" in response.content


def test_the_request_leaves_the_connection_in_the_tenants_schema_only_for_that_request(tenant_client, root_client):
    tenant_client.get("/admin/login/")
    assert connection.schema_name == "acme"
    root_client.get("/admin/login/")
    assert connection.schema_name == "public"


def test_health_endpoint_reports_database_and_cache(root_client):
    response = root_client.get("/-/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
