"""Prometheus metrics: requests, provisioning, tasks and emails, bounded labels and no tenant in
any of them, and an endpoint only the scraper reaches (tenants/metrics.py)."""

import socket
import urllib.request

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.services import queue_email
from tenants import services
from tests.clients import host_client
from tests.outbox.rows import wait_for_status
from tests.worker import publishing_to, wait_until

pytestmark = pytest.mark.django_db


def requests_counted(**labels) -> float:
    return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0


def scrape(client: Client, **headers) -> str:
    response = client.get("/-/metrics", **headers)
    assert response.status_code == 200, response.content
    return response.content.decode()


def samples(text: str):
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


# --- Requests --------------------------------------------------------------------------------------


def test_a_tenant_request_is_timed_by_route_status_class_and_host_kind(tenant_client):
    labels = {"method": "GET", "route": "-/health/", "status": "2xx", "host": "tenant"}
    before = requests_counted(**labels)

    assert tenant_client.get("/-/health/").status_code == 200

    assert requests_counted(**labels) == before + 1


def test_a_route_with_an_id_is_counted_by_its_pattern_not_its_path(web, owner):
    labels = {"method": "GET", "route": "projects/<uuid:public_id>/", "status": "4xx", "host": "tenant"}
    before = requests_counted(**labels)

    web(owner).get("/projects/6b0c2f3e-1d1c-4c7e-9a55-0e7f5e1c9a11/")

    assert requests_counted(**labels) == before + 1


def test_an_unknown_host_and_an_odd_method_have_bounded_labels():
    labels = {"method": "other", "route": "<unmatched>", "status": "4xx", "host": "none"}
    before = requests_counted(**labels)

    host_client(f"nobody-here.{settings.BASE_DOMAIN}").generic("BREW", "/some/raw/path/")

    assert requests_counted(**labels) == before + 1


def test_no_metric_names_a_tenant(tenant, other_tenant, tenant_client, other_tenant_client, root_client):
    services.provision_tenant("metered", "Metered", "boss@metered.test")
    for client in (tenant_client, other_tenant_client):
        client.get("/-/health/")
        client.get("/projects/")
    tenant_values = {"acme", "globex", "metered", tenant.primary_host, other_tenant.primary_host}

    found = samples(scrape(root_client))

    assert any(
        s.name == "http_request_duration_seconds_count" and s.labels["host"] == "tenant" for s in found
    )
    named = [(s.name, k, v) for s in found for k, v in s.labels.items() if any(t in v for t in tenant_values)]
    assert named == []
    assert not {"tenant", "schema", "tenant_schema", "domain"} & {k for s in found for k in s.labels}


# --- The endpoint ----------------------------------------------------------------------------------


def test_the_endpoint_answers_the_machine_itself_in_development(root_client):
    assert "http_request_duration_seconds" in scrape(root_client)


def test_the_endpoint_refuses_another_address_without_a_token(root_client):
    response = root_client.get("/-/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"http_request" not in response.content


def test_in_production_the_endpoint_refuses_everyone_without_the_token(settings, root_client):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""
    assert root_client.get("/-/metrics").status_code == 401


def test_with_a_token_only_the_bearer_of_it_scrapes(settings, root_client):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = "scrape-token-of-the-test"

    assert root_client.get("/-/metrics").status_code == 401
    assert root_client.get("/-/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert (
        root_client.get("/-/metrics", HTTP_AUTHORIZATION="Basic scrape-token-of-the-test").status_code == 401
    )
    assert "http_request" in scrape(root_client, HTTP_AUTHORIZATION="Bearer scrape-token-of-the-test")


def test_a_tenant_host_has_no_metrics_endpoint(tenant_client):
    response = tenant_client.get("/-/metrics")
    assert response.status_code == 404
    assert b"http_request" not in response.content


# --- Provisioning -----------------------------------------------------------------------------------


def test_provisioning_is_timed_by_the_path_its_schema_came_from():
    def provisioned(path):
        return REGISTRY.get_sample_value("tenant_provisioning_duration_seconds_count", {"path": path}) or 0.0

    before = {path: provisioned(path) for path in ("pool", "template", "migrations")}

    tenant = services.provision_tenant("timed", "Timed", "boss@timed.test").tenant

    after = {path: provisioned(path) for path in before}
    assert after == {**before, tenant.schema_path: before[tenant.schema_path] + 1}


def test_a_refused_provisioning_is_counted_as_a_failure():
    before = REGISTRY.get_sample_value("tenant_provisioning_failures_total") or 0.0

    with pytest.raises(ValidationError):
        services.provision_tenant("admin", "", "not an email")

    assert REGISTRY.get_sample_value("tenant_provisioning_failures_total") == before + 1


# --- The worker: tasks and emails, through its own exporter -----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_a_worker_exports_its_tasks_and_emails_without_a_tenant(
    start_worker, tenant, clean_outbox, email_settings, fake_postmark, tmp_path
):
    port = free_port()
    worker = start_worker(PROMETHEUS_MULTIPROC_DIR=str(tmp_path), METRICS_WORKER_PORT=str(port))
    with publishing_to(worker.queue), tenant_context(tenant):
        message = queue_email(["ann@example.com"], "outboxtest/hello", {"name": "Ann"})
    wait_for_status("acme", message.public_id, OutboxMessage.Status.SENT)
    # The send task's own metrics are written after its body: a ping, run after it, means they are.
    worker.ping()

    def exported():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return {
                (s.name, tuple(sorted(s.labels.items()))): s.value for s in samples(response.read().decode())
            }

    found = wait_until(exported)
    send = ("celery_task_duration_seconds_count", (("state", "success"), ("task", "outbox.send_queued")))
    assert found[send] == 1
    assert found[("outbox_emails_total", (("outcome", "sent"), ("template", "outboxtest/hello")))] == 1
    assert found[("outbox_provider_duration_seconds_count", (("result", "ok"),))] == 1
    assert not [key for key in found if any("acme" in value for _label, value in key[1])]
