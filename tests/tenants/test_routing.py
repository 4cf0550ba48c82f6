"""The Host header decides everything: which URLconf, which schema, or which error page."""

import pickle
import re

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import Domain, Tenant
from tenants.routing import CACHED_FIELDS, CANONICAL_DOMAIN, tenant_for_host
from tenants.services import reactivate_tenant, suspend_tenant
from tests.clients import host_client
from tests.factories import PASSWORD

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


SUSPENDED_API = {"detail": "This workspace is suspended."}


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/v1/me/", None),
        ("get", "/api/v1/users/", None),
        ("post", "/api/v1/auth/token/", {"email": "owner@acme.test", "password": PASSWORD}),
        ("get", "/api/v1/nosuch/", None),
        ("get", "/api", None),
    ],
)
def test_a_suspended_tenants_api_answers_403_in_json_without_the_operators_reason(
    tenant, owner, api_client, method, path, body
):
    client = api_client(owner)  # a token issued while the tenant was active
    suspend_tenant(tenant, "unpaid invoice 4711, owner disputes it")
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == SUSPENDED_API
    assert b"4711" not in response.content

    reactivate_tenant(tenant)
    assert client.get("/api/v1/me/").json()["email"] == "owner@acme.test"


def test_a_suspended_tenants_pages_keep_the_suspended_page_beside_its_json_api(tenant, tenant_client):
    suspend_tenant(tenant, "unpaid invoice 4711")
    for path in ("/", "/admin/login/", "/apiary/", "/accounts/api/"):
        response = tenant_client.get(path)
        assert response.status_code == 403, path
        assert response["Content-Type"].startswith("text/html"), path
        assert b"This workspace is suspended" in response.content and b"4711" not in response.content


def test_an_unknown_hosts_api_answers_404_in_json_and_its_pages_the_html_page(db):
    client = host_client(f"nosuch.{settings.BASE_DOMAIN}")
    for path in ("/api/v1/me/", "/api/v1/auth/token/", "/api"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "There is no workspace at this address."}, path
    response = client.get("/apiary/")
    assert response.status_code == 404
    assert b"There is no workspace at" in response.content


def test_an_invalid_hosts_api_answers_400_in_json(db):
    for host in ("evil.example.org", f"-acme.{settings.BASE_DOMAIN}"):
        response = host_client(host).get("/api/v1/me/")
        assert response.status_code == 400, host
        assert response.json() == {"detail": "The Host header names no valid hostname."}, host
    assert host_client("evil.example.org").get("/").content == b"Bad Request (invalid host)"


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

    Domain.objects.create(domain=alias, tenant=tenant, is_primary=False, verified_at=timezone.now())
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


def test_the_request_leaves_the_connection_in_the_tenants_schema_only_for_that_request(
    tenant_client, root_client
):
    tenant_client.get("/admin/login/")
    assert connection.schema_name == "acme"
    root_client.get("/admin/login/")
    assert connection.schema_name == "public"


def test_health_is_liveness_and_asks_the_database_nothing(root_client):
    with CaptureQueriesContext(connection) as queries:
        response = root_client.get("/-/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not [q for q in queries.captured_queries if "SELECT 1" in q["sql"]]


def routing_cache_entries() -> dict:
    """This run's host cache entries as Redis holds them: {key: unpickled value}."""
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    match = f"*:{settings.CACHES['default']['KEY_PREFIX']}:*tenant-host*"
    return {key.decode(): pickle.loads(client.get(key)) for key in client.scan_iter(match=match)}


@pytest.mark.parametrize("host", ["ACME.{base}", "acme.{base}.", "Acme.{BASE}."])
def test_a_tenant_host_is_matched_whatever_its_case_and_trailing_dot(tenant, host):
    host = host.format(base=settings.BASE_DOMAIN, BASE=settings.BASE_DOMAIN.upper())
    response = host_client(host).get("/admin/login/")
    assert response.status_code == 200
    assert b"Acme admin" in response.content


@pytest.mark.parametrize("host", ["{BASE}", "{base}."])
def test_the_root_domain_is_matched_whatever_its_case_and_trailing_dot(db, host):
    host = host.format(base=settings.BASE_DOMAIN, BASE=settings.BASE_DOMAIN.upper())
    response = host_client(host).get("/admin/login/")
    assert response.status_code == 200
    assert b"Platform operator" in response.content


@pytest.mark.parametrize(
    "subdomain",
    [
        "a" * 64,  # a label is at most 63 characters
        ".".join(["a" * 63] * 4),  # a name is at most 253
        "a" * 60_000,  # the flood the cache used to store under its full name
        "acme.",  # an empty label
        "-acme",
        "acme-",
    ],
)
def test_a_host_dns_could_not_hold_is_a_400_before_any_lookup(db, subdomain, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = host_client(f"{subdomain}.{settings.BASE_DOMAIN}").get("/")
    assert response.status_code == 400
    assert routing_cache_entries() == {}


def test_the_host_cache_holds_plain_values_under_a_hashed_versioned_public_key(tenant, tenant_client):
    unknown = f"{'x' * 60}.{settings.BASE_DOMAIN}"
    assert tenant_client.get("/admin/login/").status_code == 200
    assert host_client(unknown).get("/").status_code == 404

    entries = routing_cache_entries()
    assert len(entries) == 2
    for key in entries:
        # The schema (django-tenants' key function), the suite's prefix, then a fixed-size key.
        prefix = re.escape(settings.CACHES["default"]["KEY_PREFIX"])
        assert re.fullmatch(rf"public:{prefix}:1:tenant-host:v\d+:[0-9a-f]{{64}}", key), key
    [values] = [value for value in entries.values() if isinstance(value, dict)]
    # Plain data, not a pickled Tenant: it survives a deploy that changes the model.
    assert set(values) == {*CACHED_FIELDS, CANONICAL_DOMAIN}
    assert values["schema_name"] == "acme" and values["status"] == "active"


def test_a_tenant_read_from_the_cache_loads_other_fields_when_asked(tenant, tenant_client):
    tenant_client.get("/admin/login/")  # warm
    cached = tenant_for_host(tenant.primary_host)
    assert (cached.pk, cached.name, cached.is_active) == (tenant.pk, "Acme", True)
    assert cached.public_id == tenant.public_id  # not cached: read from the row


def test_a_queryset_update_of_a_tenant_takes_effect_on_the_next_request(tenant, tenant_client):
    assert tenant_client.get("/admin/login/").status_code == 200  # warm the cache
    Tenant.objects.filter(pk=tenant.pk).update(name="Acme Renamed")
    assert b"Acme Renamed admin" in tenant_client.get("/admin/login/").content

    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.SUSPENDED)
    assert tenant_client.get("/admin/login/").status_code == 403


def test_a_bulk_update_of_tenants_takes_effect_on_the_next_request(tenant, tenant_client):
    assert tenant_client.get("/admin/login/").status_code == 200
    tenant.status = Tenant.Status.SUSPENDED
    Tenant.objects.bulk_update([tenant], ["status"])
    assert tenant_client.get("/admin/login/").status_code == 403


def test_a_queryset_update_of_a_domain_takes_effect_on_the_next_request(tenant, tenant_client):
    renamed = host_client(f"acme-moved.{settings.BASE_DOMAIN}")
    assert tenant_client.get("/admin/login/").status_code == 200
    assert renamed.get("/admin/login/").status_code == 404  # cached as unknown

    Domain.objects.filter(domain=tenant.primary_host).update(domain=f"acme-moved.{settings.BASE_DOMAIN}")
    assert tenant_client.get("/admin/login/").status_code == 404
    assert renamed.get("/admin/login/").status_code == 200


def test_bulk_created_and_bulk_updated_domains_take_effect_on_the_next_request(tenant, other_tenant):
    alias = host_client(f"acme-bulk.{settings.BASE_DOMAIN}")
    assert alias.get("/admin/login/").status_code == 404  # cached as unknown

    [domain] = Domain.objects.bulk_create(
        [Domain(domain=f"acme-bulk.{settings.BASE_DOMAIN}", tenant=tenant, verified_at=timezone.now())]
    )
    assert b"Acme admin" in alias.get("/admin/login/").content

    domain.tenant = other_tenant
    Domain.objects.bulk_update([domain], ["tenant"])
    assert b"Globex admin" in alias.get("/admin/login/").content


def test_cache_keys_belong_to_the_schema_that_wrote_them(tenant, other_tenant):
    with schema_context(tenant.schema_name):
        cache.set("bucket", "acme's")
    with schema_context(other_tenant.schema_name):
        assert cache.get("bucket") is None
        cache.set("bucket", "globex's")
    with schema_context(tenant.schema_name):
        assert cache.get("bucket") == "acme's"
