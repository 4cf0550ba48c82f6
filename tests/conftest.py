"""The suite's shared fixtures.

Two tenants are provisioned once per session in the test database, through the real provisioning
service: ``tenant`` (acme) is the one most tests work in, ``other_tenant`` (globex) is the one that
must never see acme's data. Each test runs in a transaction that is rolled back, so tenants,
schemas and users a test creates disappear with it (PostgreSQL's DDL is transactional).
Requests reach a tenant the way a browser does: through its Host header.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_exists, tenant_context

from tenants.models import Domain, Tenant
from tenants.services import provision_tenant

PASSWORD = "a-long-test-password"


TEST_TENANTS = {"acme": "Acme", "globex": "Globex"}


def ensure_test_tenant(slug: str) -> Tenant:
    """The session's tenant, provisioned once. A ``transactional_db`` test ends with Django's flush,
    which truncates the public tables (tenant and domain rows) but not the tenant schemas, so the
    rows are put back over the schema that is still there, users and all."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is not None:
        return tenant
    if schema_exists(slug):
        tenant = Tenant(schema_name=slug, slug=slug, name=TEST_TENANTS[slug])
        tenant.save(verbosity=0)  # the schema exists, so nothing is migrated
        Domain.objects.create(domain=tenant.primary_host, tenant=tenant, is_primary=True)
        return tenant
    return provision_tenant(slug, TEST_TENANTS[slug], f"owner@{slug}.test", owner_password=PASSWORD).tenant


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        for slug in TEST_TENANTS:
            ensure_test_tenant(slug)
    yield


@pytest.fixture(autouse=True)
def _fresh_cache_and_schema():
    # Cached host lookups must not outlive the rolled-back rows they describe, and a request
    # must not leave the next test in a tenant's search_path.
    cache.clear()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def tenant(db) -> Tenant:
    return ensure_test_tenant("acme")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return ensure_test_tenant("globex")


def host_client(host: str) -> Client:
    return Client(HTTP_HOST=host)


@pytest.fixture
def root_client() -> Client:
    """A browser on the root domain (the operator's side)."""
    from django.conf import settings

    return host_client(settings.BASE_DOMAIN)


@pytest.fixture
def tenant_client(tenant) -> Client:
    return host_client(tenant.primary_host)


@pytest.fixture
def other_tenant_client(other_tenant) -> Client:
    return host_client(other_tenant.primary_host)


@pytest.fixture
def make_user():
    """Create a user in a tenant's schema (or the public schema with tenant=None)."""
    from django.contrib.auth import get_user_model

    def make(email, tenant=None, *, password=PASSWORD, **fields):
        User = get_user_model()
        if tenant is None:
            connection.set_schema_to_public()
            return User.objects.create_user(email, password, **fields)
        with tenant_context(tenant):
            return User.objects.create_user(email, password, **fields)

    return make
