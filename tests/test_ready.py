"""/-/ready/ (tenants/readiness.py): 200 when PostgreSQL, Redis, a worker's heartbeat and the public
schema's migrations are all fine; 503 naming the check that is not. Every failure here is real: a
port with no Redis behind it, a Redis that never answers, a worker that stopped, a migration row
missing from the public schema's django_migrations."""

import socket
import time
import uuid

import pytest
from django.db import connection
from django_tenants.utils import get_public_schema_name

from tenants import readiness
from tests.test_settings import PRODUCTION_ENV, settings_under
from tests.worker import wait_until

CHECKS = {"database", "redis", "worker", "migrations"}


@pytest.fixture(autouse=True)
def _fresh_migrations_reading(settings):
    # Each request reads django_migrations again, so a row deleted by the test is seen at once.
    settings.READY_MIGRATIONS_CACHE_SECONDS = 0
    readiness._migrations_memo.clear()


def failed(response) -> dict:
    """{check: reason} of the checks that failed."""
    return {name: check["reason"] for name, check in response.json()["checks"].items() if not check["ok"]}


def test_ready_answers_200_when_the_database_redis_a_worker_and_the_migrations_are_fine(
    db, root_client, celery_worker, settings, django_assert_max_num_queries
):
    # The session worker wrote its heartbeat when its consumer started, and every few seconds since.
    # The routing's SET search_path, SELECT 1, the applied migrations: no session, no tenant lookup.
    with django_assert_max_num_queries(3):
        response = root_client.get("/-/ready/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert 0 <= body["checks"]["worker"]["age_seconds"] < settings.READY_WORKER_MAX_AGE_SECONDS
    assert "no-store" in response["Cache-Control"]


def test_ready_is_served_on_the_root_domain_only(tenant_client):
    assert tenant_client.get("/-/ready/").status_code == 404
    # Liveness stays on every host.
    assert tenant_client.get("/-/health/").status_code == 200


def test_ready_answers_503_naming_redis_when_nothing_listens_on_its_port(db, root_client, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        response = root_client.get("/-/ready/")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert failed(response) == {
        "redis": "unreachable (ConnectionError)",
        "worker": "not checked: Redis is unreachable",
    }


def test_ready_answers_503_within_its_timeout_when_redis_accepts_but_never_answers(db, root_client, settings):
    settings.READY_REDIS_TIMEOUT_MS = 300
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody replies
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        response = root_client.get("/-/ready/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert failed(response)["redis"] == "unreachable (TimeoutError)"
    assert elapsed < 3, f"the probe took {elapsed:.1f}s"


def test_ready_answers_503_naming_the_worker_when_no_worker_has_written_a_heartbeat(
    db, root_client, settings
):
    settings.WORKER_HEARTBEAT_KEY = f"tests-no-worker-{uuid.uuid4().hex}"
    response = root_client.get("/-/ready/")
    assert response.status_code == 503
    max_age = settings.READY_WORKER_MAX_AGE_SECONDS
    queues = ", ".join(settings.READY_WORKER_QUEUES)
    assert failed(response) == {"worker": f"no worker heartbeat in the last {max_age} s for: {queues}"}


def test_ready_names_a_queue_that_no_worker_consumes(db, root_client, settings, celery_worker):
    settings.READY_WORKER_QUEUES = [*celery_worker.queues, "nobody-consumes-this"]
    response = root_client.get("/-/ready/")
    assert response.status_code == 503
    max_age = settings.READY_WORKER_MAX_AGE_SECONDS
    assert failed(response) == {
        "worker": f"no worker heartbeat in the last {max_age} s for: nobody-consumes-this"
    }


def test_ready_fails_on_the_worker_once_the_only_worker_stopped(db, root_client, settings, start_worker):
    key = f"tests-one-worker-{uuid.uuid4().hex}"
    settings.WORKER_HEARTBEAT_KEY = key
    settings.READY_WORKER_MAX_AGE_SECONDS = 2
    worker = start_worker(
        WORKER_HEARTBEAT_KEY=key, WORKER_HEARTBEAT_SECONDS="1", READY_WORKER_MAX_AGE_SECONDS="2"
    )
    settings.READY_WORKER_QUEUES = worker.queues
    assert root_client.get("/-/ready/").status_code == 200

    worker.stop()
    response = wait_until(lambda: (r := root_client.get("/-/ready/")).status_code == 503 and r, timeout=10)
    assert failed(response) == {
        "worker": f"no worker heartbeat in the last 2 s for: {', '.join(worker.queues)}"
    }


def test_ready_answers_503_naming_migrations_when_the_public_schema_lacks_one(db, root_client, celery_worker):
    # The session worker keeps its heartbeat fresh, so the migration is the only check that fails
    # (without it, the worker check fails too when no worker test ran in the last minute).
    app, name, _ = next(leaf for leaf in readiness.migration_leaves() if leaf[0] == "outbox")
    assert root_client.get("/-/ready/").status_code == 200
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(
            f"DELETE FROM {get_public_schema_name()}.django_migrations WHERE app = %s AND name = %s",
            [app, name],
        )
        assert cursor.rowcount == 1
    response = root_client.get("/-/ready/")
    assert response.status_code == 503
    assert failed(response) == {"migrations": "migrations not applied in the public schema for: outbox"}


def test_ready_is_exempt_from_the_https_redirect_of_production(db, root_client, settings, monkeypatch):
    production = settings_under(monkeypatch, **PRODUCTION_ENV)
    settings.SECURE_SSL_REDIRECT = production["SECURE_SSL_REDIRECT"]
    settings.SECURE_REDIRECT_EXEMPT = production["SECURE_REDIRECT_EXEMPT"]
    assert root_client.get("/").status_code == 301
    # Probes come from inside the network over plain HTTP: answered, not redirected.
    assert root_client.get("/-/health/").status_code == 200
    assert root_client.get("/-/ready/").status_code != 301


def test_ready_answers_only_get_and_head(db, root_client):
    assert root_client.post("/-/ready/").status_code == 405
    assert root_client.head("/-/ready/").status_code in (200, 503)
