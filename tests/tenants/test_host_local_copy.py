"""Each process's own copy of host lookups in front of Redis (tenants/host_cache.py): a warm host
costs no network call, a change made in this process is seen by its next request, and a change
made in another process (a version bump in Redis) by the first request after the next version
check. The process clock is a fake one the tests move, never a sleep."""

import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import host_cache
from tenants.models import Tenant
from tenants.services import reactivate_tenant, suspend_tenant

pytestmark = pytest.mark.django_db


class CountingCache:
    """The real cache, counting the calls routing makes to it."""

    def __init__(self, real):
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name):
        attribute = getattr(self.real, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return counted


@pytest.fixture
def clock(monkeypatch):
    """host_cache's monotonic clock, moved by hand: ``clock.now += 10``."""
    fake = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(host_cache, "time", types.SimpleNamespace(monotonic=lambda: fake.now))
    return fake


@pytest.fixture
def local_copy(settings, clock):
    settings.TENANT_HOST_LOCAL_SECONDS = 2
    host_cache.local_copy.clear()
    yield host_cache.local_copy
    host_cache.local_copy.clear()


@pytest.fixture
def counting(monkeypatch):
    counter = CountingCache(host_cache.cache)
    monkeypatch.setattr(host_cache, "cache", counter)
    return counter


def tenant_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "tenants_tenant" in q["sql"]]


def test_a_warm_host_costs_no_cache_call_and_no_query(local_copy, counting, tenant, tenant_client):
    assert tenant_client.get("/-/health/").status_code == 200  # warms this process's copy
    counting.calls.clear()

    with CaptureQueriesContext(connection) as queries:
        assert tenant_client.get("/-/health/").status_code == 200

    assert counting.calls == []
    assert tenant_queries(queries) == []


def test_the_version_is_asked_at_most_once_per_interval(local_copy, counting, clock, tenant, tenant_client):
    tenant_client.get("/-/health/")
    counting.calls.clear()

    clock.now += 3  # past TENANT_HOST_LOCAL_SECONDS
    for _ in range(5):
        assert tenant_client.get("/-/health/").status_code == 200

    assert counting.calls == ["get"]  # the version, once; the host itself from the copy


def test_a_change_in_this_process_is_seen_by_its_next_request(local_copy, tenant, tenant_client):
    assert tenant_client.get("/-/health/").status_code == 200

    suspend_tenant(tenant, "unpaid")
    try:
        assert tenant_client.get("/projects/").status_code == 403
    finally:
        reactivate_tenant(Tenant.objects.get(pk=tenant.pk))
    assert tenant_client.get("/-/health/").status_code == 200


def test_another_processes_change_is_seen_after_the_next_version_check(
    local_copy, clock, tenant, tenant_client
):
    assert tenant_client.get("/projects/").status_code != 403
    # Another process suspends the tenant: the row changes and its forget() deletes the Redis
    # entry and bumps the version; this process's copy knows nothing of it yet.
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.SUSPENDED)  # forgets in Redis...
    host_cache.local_copy._entries[tenant.primary_host] = (
        {**_cached_values(tenant), "status": Tenant.Status.ACTIVE},
        clock.now,
    )  # ...while this process's copy, as another process's would, still holds the old row
    try:
        assert tenant_client.get("/projects/").status_code != 403  # within the interval: the copy

        clock.now += 3
        assert tenant_client.get("/projects/").status_code == 403  # the version moved: re-read
    finally:
        Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ACTIVE)


def _cached_values(tenant) -> dict:
    from tenants.routing import CACHED_FIELDS

    return {field: getattr(tenant, field) for field in CACHED_FIELDS} | {"canonical_domain": None}


def test_the_copy_keeps_at_most_its_bound_of_hosts(local_copy, monkeypatch):
    monkeypatch.setattr(host_cache, "LOCAL_MAX_HOSTS", 3)
    for n in range(5):
        host_cache.remember(f"nobody{n}.example.test", None)

    assert list(local_copy._entries) == [f"nobody{n}.example.test" for n in (2, 3, 4)]


def test_a_cache_outage_at_the_version_check_drops_the_copy(
    local_copy, clock, settings, tenant, tenant_client
):
    tenant_client.get("/-/health/")
    assert tenant.primary_host in local_copy._entries

    clock.now += 3
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    local_copy._check_version(clock.now, 2)

    assert local_copy._entries == {}
