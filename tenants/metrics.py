"""Prometheus metrics of the web processes and the Celery workers, and the endpoint that serves them.

Built on prometheus_client directly rather than django-prometheus: django-prometheus labels its
request metrics by view and by status code in separate series (no host kind, no status class), and
its database metrics need its own database engine, which django-tenants' engine replaces. What we
need is three histograms and a middleware, which prometheus_client gives in a few lines.

**No tenant label, anywhere.** With 10,000 tenants every label holding a tenant would multiply the
series by 10,000. Labels hold bounded sets only: HTTP methods (unknown ones are ``other``), route
patterns (``api/v1/projects/<uuid:public_id>/``, never the raw path), status classes, the host kind
(``root``, ``tenant``, ``none``), task names, email template names, provisioning paths. Which
tenants are busiest is answered by ``tenants.activity`` (Redis counters, shown in the global admin).

**Processes.** A web server with several worker processes (gunicorn, granian) and Celery's prefork
pool each keep metrics per process. With ``PROMETHEUS_MULTIPROC_DIR`` set in their environment
(an empty directory, emptied at each start, one per process group), prometheus_client's
multiprocess mode writes every process's values to files there, and whoever exposes the metrics
sums them: the web's ``/-/metrics`` (any web worker answers for all of them) and, for a Celery
worker, an exporter on ``METRICS_WORKER_PORT`` started in the worker's main process
(``start_worker_exporter``). Unset, each process serves its own values (``manage.py dev``).
"""

import functools
import hmac
import ipaddress
import logging
import os
import time

from celery import signals as celery_signals
from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django_tenants.utils import get_public_schema_name
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from tenants import activity

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # A metric without labels writes its file when it is created, below: a one-off command in a
    # container (whose entrypoint did not prepare the directory) must not fail on a missing one.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

# Latencies from a cached page (milliseconds) to a provisioning by migrations (tens of seconds).
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

HTTP_REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request (its _count is the number of requests).",
    ["method", "route", "status", "host"],
    buckets=SECONDS_BUCKETS,
)
TASK_SECONDS = Histogram(
    "celery_task_duration_seconds",
    "Time a Celery task ran, by task name and how it ended (its _count is the number of runs).",
    ["task", "state"],
    buckets=SECONDS_BUCKETS,
)
TASKS_RETRIED = Counter("celery_task_retries", "Celery tasks that asked to be retried.", ["task"])
PROVISIONING_SECONDS = Histogram(
    "tenant_provisioning_duration_seconds",
    "Time to provision a tenant, by where its schema came from: pool, template or migrations.",
    ["path"],
    buckets=SECONDS_BUCKETS,
)
PROVISIONING_FAILURES = Counter(
    "tenant_provisioning_failures", "Provisionings that raised (bad input, a lost race, an error)."
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"  # answered before or without URL resolution (bad host, 404)


# --- Requests -----------------------------------------------------------------------------------


def host_kind(request) -> str:
    """``root`` (the operator's side), ``tenant`` (a tenant's host) or ``none`` (no tenant was
    routed: a bad or unknown host)."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return "none"
    return "root" if tenant.schema_name == get_public_schema_name() else "tenant"


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.route or UNMATCHED_ROUTE) if match is not None else UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    """Outermost middleware: times every request, the refused ones included, and counts a tenant
    host's request for the top-tenants panel (``tenants.activity``, batched in Redis, no database
    write). Must come first in MIDDLEWARE, so the time includes the other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        kind = host_kind(request)
        HTTP_REQUEST_SECONDS.labels(
            method, route_of(request), f"{response.status_code // 100}xx", kind
        ).observe(time.perf_counter() - started)
        if kind == "tenant":
            activity.count_request(request.tenant.schema_name)
        return response


# --- Celery tasks (connected in every process; only workers run tasks) -------------------------

_task_started: dict[str, float] = {}


@celery_signals.task_prerun.connect(weak=False)
def _task_prerun(task_id=None, **_):
    _task_started[task_id] = time.perf_counter()


@celery_signals.task_postrun.connect(weak=False)
def _task_postrun(task_id=None, task=None, state=None, **_):
    started = _task_started.pop(task_id, None)
    if started is None or task is None:
        return
    TASK_SECONDS.labels(task.name, (state or "unknown").lower()).observe(time.perf_counter() - started)


@celery_signals.task_retry.connect(weak=False)
def _task_retry(sender=None, **_):
    if sender is not None:
        TASKS_RETRIED.labels(sender.name).inc()


@celery_signals.worker_ready.connect(weak=False)
def _worker_ready(**_):
    start_worker_exporter()


def start_worker_exporter() -> int | None:
    """In a Celery worker's main process: serve the worker's metrics (all its pool processes',
    through PROMETHEUS_MULTIPROC_DIR) over HTTP on METRICS_WORKER_PORT, if set. Returns the port."""
    port = settings.METRICS_WORKER_PORT
    if not port:
        return None
    from prometheus_client import start_http_server

    start_http_server(port, addr=settings.METRICS_WORKER_ADDRESS, registry=registry())
    logger.info("worker metrics on %s:%d", settings.METRICS_WORKER_ADDRESS, port)
    return port


# --- Provisioning --------------------------------------------------------------------------------


def provisioning_timed(provision):
    """Wraps ``tenants.services.provision_tenant``: its time by the path its schema came from
    (``tenant.schema_path``), or a failure."""

    @functools.wraps(provision)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            provisioned = provision(*args, **kwargs)
        except Exception:
            PROVISIONING_FAILURES.inc()
            raise
        PROVISIONING_SECONDS.labels(provisioned.tenant.schema_path).observe(time.perf_counter() - started)
        return provisioned

    return timed


# --- Exposition ----------------------------------------------------------------------------------


def registry():
    """What to expose: the sum over every process's files in multiprocess mode, else this
    process's own metrics."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return DEFAULT_REGISTRY


def exposition() -> bytes:
    return generate_latest(registry())


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def may_scrape(request) -> bool:
    """With METRICS_TOKEN set, only ``Authorization: Bearer <METRICS_TOKEN>``. Without it: nobody in
    production, and only the machine itself (a loopback address) elsewhere."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    if settings.PRODUCTION:
        return False
    return _is_loopback(request.META.get("REMOTE_ADDR", ""))


@never_cache
def metrics_view(request):
    """``/-/metrics`` on the root domain (config/urls_public.py; tenant hosts have no such route)."""
    if not may_scrape(request):
        response = HttpResponse("Metrics need the scrape token.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
