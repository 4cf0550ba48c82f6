"""The busiest tenants: requests and emails counted per tenant in Redis (tenants/activity.py), and
the global admin's "Platform activity" page that shows them. The workers' side of the email counts
is tested with a real worker in tests/outbox/test_activity_counts.py."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import activity
from tenants.models import Tenant
from tests.isolation import delete_suite_cache_keys
from tests.tenants.test_admin_sites import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting(settings):
    """Every request is flushed to Redis at once, from an empty slate (no other test's counts)."""
    settings.TENANT_ACTIVITY_FLUSH_SECONDS = 0
    activity.flush()
    delete_suite_cache_keys()
    yield
    activity.flush()


@pytest.fixture
def operator_client(operator, root_client):
    assert sign_in(root_client, operator.email)
    return root_client


def test_requests_are_counted_per_tenant_and_one_tenants_never_count_for_another(
    counting, tenant_client, other_tenant_client, root_client
):
    for _ in range(3):
        tenant_client.get("/-/health/")
    other_tenant_client.get("/projects/")
    root_client.get("/-/health/")  # the root domain is no tenant

    assert activity.top_tenants_by_requests("hour") == [("acme", 3), ("globex", 1)]
    assert activity.top_tenants_by_requests("day") == [("acme", 3), ("globex", 1)]
    assert activity.top_tenants_by_requests("hour", limit=1) == [("acme", 3)]


def test_counts_leave_the_hour_window_but_stay_in_the_day(settings):
    settings.TENANT_ACTIVITY_FLUSH_SECONDS = 3600  # held in the process until flushed below
    activity.flush()
    delete_suite_cache_keys()
    activity.count_request("acme")
    activity.count_request("acme")
    activity.flush(now=time.time() - 2 * 3600)  # two hours ago
    activity.count_request("globex")
    activity.flush()

    assert activity.top_tenants_by_requests("hour") == [("globex", 1)]
    assert activity.top_tenants_by_requests("day") == [("acme", 2), ("globex", 1)]


def test_a_redis_failure_drops_the_counts_and_never_fails_the_request(counting, settings, tenant_client):
    settings.CACHE_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    assert tenant_client.get("/-/health/").status_code in (200, 503)  # the health check reads the cache

    settings.CACHE_URL = settings.CACHES["default"]["LOCATION"]
    assert activity.top_tenants_by_requests("hour") == []


def test_each_kind_is_counted_apart(counting):
    activity.count(activity.EMAILS_SENT, "acme")
    activity.count(activity.EMAILS_SENT, "acme")
    activity.count(activity.EMAILS_FAILED, "globex")
    activity.count_request("globex")

    assert activity.top_tenants(activity.EMAILS_SENT, "day") == [("acme", 2)]
    assert activity.top_tenants(activity.EMAILS_FAILED, "day") == [("globex", 1)]
    assert activity.top_tenants(activity.REQUESTS, "day") == [("globex", 1)]


def test_an_email_count_is_flushed_at_once_however_long_the_flush_interval(counting, settings):
    settings.TENANT_ACTIVITY_FLUSH_SECONDS = 3600
    activity.count_request("acme")  # held in the process
    activity.count(activity.EMAILS_SENT, "globex", at_once=True)  # flushes both

    assert activity.top_tenants(activity.EMAILS_SENT, "hour") == [("globex", 1)]
    assert activity.top_tenants(activity.REQUESTS, "hour") == [("acme", 1)]


def test_the_activity_page_shows_the_busiest_tenants_by_requests_and_emails(
    counting, operator_client, tenant_client, other_tenant_client
):
    for _ in range(4):
        tenant_client.get("/-/health/")
    other_tenant_client.get("/-/health/")
    activity.count(activity.EMAILS_SENT, "globex")

    page = operator_client.get("/admin/activity/")

    assert page.status_code == 200
    body = page.content.decode()
    for heading in (
        "Requests, last hour",
        "Requests, last 24 h",
        "Emails sent, last 24 h",
        "Emails failed, last 24 h",
    ):
        assert f'data-panel="{heading}"' in body
    hour = body.split('data-panel="Requests, last hour"')[1].split("</table>")[0]
    assert hour.index(">acme</a>") < hour.index(">globex</a>")
    assert '<td class="count">4</td>' in hour and '<td class="count">1</td>' in hour
    sent = body.split('data-panel="Emails sent, last 24 h"')[1].split("</table>")[0]
    assert ">globex</a>" in sent and ">acme</a>" not in sent


def test_the_admin_index_links_the_activity_page(operator_client):
    assert 'href="/admin/activity/"' in operator_client.get("/admin/").content.decode()


def test_the_activity_page_costs_the_same_queries_for_3_and_30_tenants(counting, operator_client):
    def queries_with(count):
        for n in range(Tenant.objects.count(), count):
            tenant = Tenant(schema_name=f"busy{n}", slug=f"busy{n}", name=f"Busy {n}")
            tenant.auto_create_schema = False  # rows only: the panels must not care
            tenant.save(verbosity=0)
            activity.count_request(tenant.schema_name)
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get("/admin/activity/").status_code == 200
        return len(queries)

    assert queries_with(3) == queries_with(30)


def test_only_an_operator_sees_the_activity_page(web, owner, root_client, tenant_client):
    assert root_client.get("/admin/activity/")["Location"].startswith("/admin/login/")
    # A tenant's owner has no account on the root domain; on their own host the page does not exist.
    assert web(owner).get("/admin/activity/").status_code == 404


def test_the_activity_page_says_so_when_redis_is_down(operator_client, settings):
    settings.CACHE_URL = "redis://127.0.0.1:1/0"  # nothing listens there; sessions are in the database

    page = operator_client.get("/admin/activity/")

    assert page.status_code == 200
    assert page.content.decode().count("Unavailable: Redis did not answer.") == 4  # every panel
