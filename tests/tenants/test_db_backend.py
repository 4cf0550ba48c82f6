"""The database backend (tenants/db/base.py): no SET search_path that would change nothing, and
no health-check query on a connection that answered a moment ago."""

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sets_of(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]


@pytest.fixture
def member_browser(web, member):
    browser = web(member)
    assert browser.get("/projects/").status_code == 200  # the connection now serves acme
    return browser


def test_a_request_to_the_tenant_the_connection_serves_sets_no_search_path(member_browser):
    with CaptureQueriesContext(connection) as queries:
        assert member_browser.get("/projects/").status_code == 200

    assert len(queries) > 0
    assert sets_of(queries) == []


def test_a_request_to_another_tenant_sets_its_path_and_the_next_one_sets_acmes_again(
    member_browser, web, make_user, other_tenant
):
    globex_user = make_user("someone@globex.test", other_tenant, password=PASSWORD)
    with CaptureQueriesContext(connection) as queries:
        assert web(globex_user, where=other_tenant).get("/-/health/").status_code == 200
        web(globex_user, where=other_tenant).get("/projects/")
    assert any('"globex"' in sql for sql in sets_of(queries))

    with CaptureQueriesContext(connection) as queries:
        assert member_browser.get("/projects/").status_code == 200
    assert [sql for sql in sets_of(queries) if '"acme"' in sql]


def test_a_rolled_back_savepoint_forgets_the_path_it_reverted(tenant, other_tenant):
    with schema_context(tenant.schema_name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the connection is on acme's path
        sid = transaction.savepoint()
        connection.set_tenant(other_tenant)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # SET search_path to globex inside the savepoint
        transaction.savepoint_rollback(sid)  # ...which the rollback undoes: the server is on acme

        # Still asked for globex: the path must be set again, not trusted to the SET just undone.
        with CaptureQueriesContext(connection) as queries:
            with connection.cursor() as cursor:
                cursor.execute("SHOW search_path")
                shown = cursor.fetchone()[0]
    assert sets_of(queries), "the path must be set again after the rollback"
    assert shown.replace('"', "").startswith("globex")


def test_a_connection_used_a_moment_ago_skips_the_health_check_and_an_idle_one_is_checked(
    settings, monkeypatch
):
    settings.CONN_HEALTH_CHECK_IDLE_SECONDS = 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    checks = []
    wrapper = connections["default"]
    monkeypatch.setattr(wrapper, "is_usable", lambda: checks.append("checked") or True)
    monkeypatch.setattr(wrapper, "health_check_enabled", True)

    wrapper.health_check_done = False
    wrapper.close_if_health_check_failed()
    assert checks == []

    wrapper._last_used = float("-inf")  # idle for ever
    wrapper.health_check_done = False
    wrapper.close_if_health_check_failed()
    assert checks == ["checked"]
