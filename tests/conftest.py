"""The suite's shared fixtures: tenants, personas, clients, the email provider and the worker.

Tenants. Two are provisioned once per session in the test database, through the real
provisioning service: ``tenant`` (acme) is the one most tests work in, ``other_tenant`` (globex)
is the one that must never see acme's data. Each test runs in a transaction that is rolled back;
a transactional test is cleaned up after (tests/isolation.py), so tests pass in any order.

Personas, on acme: ``owner`` (provisioned), ``admin``, ``member``, ``nobody`` (an account holding
no role), ``outsider`` (None: no account, a signed-out browser or anonymous API client) and
``stranger`` (an owner of globex). ``operator`` is a staff user of the public schema.

Clients reach a tenant the way a browser does, through its Host header: ``tenant_client``,
``other_tenant_client``, ``root_client`` (Django test clients); ``web(user, where=None)`` (a
browser signed in as ``user``); ``api_client(user, where=None)`` (DRF, with a Bearer token of
``user``); ``outsider_api``. Any persona goes into ``web`` and ``api_client``, e.g.
``api_client(request.getfixturevalue(persona))``.

Email and the worker. ``fake_postmark`` is a local server speaking Postmark's API;
``outbox_worker`` (also ``celery_worker``) a real ``celery worker`` subprocess on the test
database, sending through anymail's Postmark backend to the fake (tests/worker.py);
``start_worker(**env)`` starts one more for a single test, on a queue of its own.
"""

import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.urls import set_urlconf
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from shared_apps.site_pages.seed import seed_site_pages
from tenant_apps.accounts.roles import Role
from tenants.models import Domain, Tenant
from tenants.services import provision_tenant
from tests.clients import api_client_for, host_client, issue_token, signed_in_client
from tests.factories import PASSWORD, UserFactory
from tests.isolation import Baseline, delete_suite_cache_keys
from tests.mail_config import HANG_SECONDS, fake_provider_settings
from tests.outbox.fake_postmark import FakePostmark
from tests.outbox.rows import delete_outbox_rows
from tests.worker import Worker, delete_run_queues, session_queue

__all__ = ["PASSWORD", "TEST_TENANTS", "ensure_test_tenant", "host_client"]

TEST_TENANTS = {"acme": "Acme", "globex": "Globex"}


def ensure_test_tenant(slug: str) -> Tenant:
    """The session's tenant, provisioned once. A ``transactional_db`` test ends with Django's flush,
    which truncates the public tables (tenant and domain rows) but not the tenant schemas, so the
    rows are put back over the schema that is still there, users and all.

    Both are on the "unlimited" plan: tests of other features make as many users and projects as
    they need, whatever the default plan allows; a test of the limits sets them
    (tests/tenants/test_limits.py)."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is not None:
        return tenant
    if schema_exists(slug):
        tenant = Tenant(schema_name=slug, slug=slug, name=TEST_TENANTS[slug], plan="unlimited")
        tenant.save(verbosity=0)  # the schema exists, so nothing is migrated
        Domain.objects.create(
            domain=tenant.primary_host, tenant=tenant, is_primary=True, verified_at=timezone.now()
        )
        return tenant
    return provision_tenant(
        slug, TEST_TENANTS[slug], f"owner@{slug}.test", owner_password=PASSWORD, plan="unlimited"
    ).tenant


# --- Session: database, tenants, Redis ------------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        for slug in TEST_TENANTS:
            ensure_test_tenant(slug)
        seed_site_pages()
        baseline = Baseline(TEST_TENANTS)
        connection.set_schema_to_public()
    yield baseline


@pytest.fixture(scope="session", autouse=True)
def _run_queues_removed():
    """At the end of the run (after every worker stopped), delete this run's queues from Redis."""
    yield
    delete_run_queues()


def is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _isolated(request, django_db_blocker):
    """Each test starts with none of this run's cache keys (cached host lookups must not outlive
    the rolled-back rows they describe) and in the public schema; a transactional test's rows and
    schemas are removed after it."""
    delete_suite_cache_keys()
    yield
    connection.set_schema_to_public()
    # A request leaves its host's URLconf on the thread, as a web worker's thread keeps it between
    # requests; each test starts without it (tests of that reuse set it themselves).
    set_urlconf(None)
    if is_transactional(request):
        baseline = request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            baseline.restore()
            connection.set_schema_to_public()


# --- Tenants and personas -------------------------------------------------------------------------


@pytest.fixture
def tenant(db) -> Tenant:
    return ensure_test_tenant("acme")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return ensure_test_tenant("globex")


@pytest.fixture
def make_user():
    """``make_user(email, tenant=None, password=PASSWORD, **fields)``: a user with no role, in a
    tenant's schema (or the public schema with tenant=None)."""

    def make(email, tenant=None, *, password=PASSWORD, **fields):
        if tenant is None:
            connection.set_schema_to_public()
            return UserFactory(email=email, password=password, **fields)
        return UserFactory(tenant=tenant, email=email, password=password, **fields)

    return make


@pytest.fixture
def make_role_user(tenant):
    """``make_role_user(email, role, where=acme, password=PASSWORD, full_name="")``, through the
    accounts service."""

    def make(email, role, where=None, *, password=PASSWORD, full_name=""):
        return UserFactory(
            tenant=where or tenant, email=email, role=role, password=password, full_name=full_name
        )

    return make


@pytest.fixture
def owner(tenant):
    """acme's owner, made by provisioning: the only owner of acme."""
    from django.contrib.auth import get_user_model

    with tenant_context(tenant):
        return get_user_model().objects.get(email="owner@acme.test")


@pytest.fixture
def admin(make_role_user):
    return make_role_user("admin@acme.test", Role.ADMIN, full_name="Ada Admin")


@pytest.fixture
def member(make_role_user):
    return make_role_user("member@acme.test", Role.MEMBER, full_name="Mo Member")


@pytest.fixture
def nobody(tenant, make_user):
    """An acme account with no role (e.g. left half-created): it must see nothing."""
    return make_user("nobody@acme.test", tenant)


@pytest.fixture
def outsider():
    """Someone with no account: ``web(outsider)`` and ``api_client(outsider)`` are anonymous."""
    return None


@pytest.fixture
def stranger(other_tenant, make_role_user):
    """An owner of globex: a real account, of the other tenant."""
    return make_role_user("stranger@globex.test", Role.OWNER, other_tenant)


@pytest.fixture
def operator(make_user):
    """A staff user of the public schema: the platform's operator."""
    return make_user("ops@platform.test", None, is_staff=True, is_superuser=True)


# --- Clients --------------------------------------------------------------------------------------


@pytest.fixture
def site_pages(db):
    """The root site's Wagtail pages (home, pricing, docs, changelog) as `manage.py dev` seeds them:
    seeded once per session, and again after a transactional test's flush emptied the public
    schema (a few queries when they exist). Returns the root domain's Wagtail Site."""
    connection.set_schema_to_public()
    return seed_site_pages()


@pytest.fixture
def root_client(site_pages):
    """A browser on the root domain (the operator's side)."""
    return host_client(settings.BASE_DOMAIN)


@pytest.fixture
def tenant_client(tenant):
    return host_client(tenant.primary_host)


@pytest.fixture
def other_tenant_client(other_tenant):
    return host_client(other_tenant.primary_host)


@pytest.fixture
def web(tenant):
    """``web(user, where=acme)``: a browser on the tenant signed in as ``user`` (None: signed out)."""

    def make(user=None, where=None):
        return signed_in_client(where or tenant, user)

    return make


@pytest.fixture
def api_client(tenant):
    """``api_client(user, where=acme)``: a DRF client on the tenant's host with a fresh Bearer token
    of ``user`` issued there (no credentials for ``user=None``)."""

    def make(user=None, where=None):
        where = where or tenant
        token = issue_token(where, user) if user is not None else None
        return api_client_for(where.primary_host, token)

    return make


@pytest.fixture
def outsider_api(tenant):
    return api_client_for(tenant.primary_host)


# --- Email and the worker -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_postmark():
    server = FakePostmark(hang_seconds=HANG_SECONDS).start()
    yield server
    server.stop()


@pytest.fixture
def email_settings(settings, fake_postmark):
    """This process renders and queues like the worker sends: anymail's Postmark backend against
    the fake, fast retries (tests/mail_config.py; the worker reads the same values)."""
    fake_postmark.reset()
    for name, value in fake_provider_settings(fake_postmark.url, settings.TEMPLATES).items():
        setattr(settings, name, value)
    yield settings
    fake_postmark.reset()


@pytest.fixture(scope="session")
def worker_logs(tmp_path_factory):
    return tmp_path_factory.mktemp("workers")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for worker in Worker.running:
            report.sections.append((f"worker {worker.queue} ({worker.log_path})", worker.log()))
    return report


@pytest.fixture(scope="session")
def outbox_worker(django_db_setup, django_db_blocker, fake_postmark, worker_logs):
    """The session's worker subprocess, on this run's queue and the test database; stopped, with
    its database sessions gone, before the test database is dropped."""
    worker = Worker(session_queue(), {"TP_TEST_POSTMARK_URL": fake_postmark.url}, worker_logs)
    with django_db_blocker.unblock():
        worker.start()
    yield worker
    with django_db_blocker.unblock():
        worker.stop()


@pytest.fixture(scope="session")
def celery_worker(outbox_worker):
    return outbox_worker


@pytest.fixture
def start_worker(django_db_setup, django_db_blocker, fake_postmark, worker_logs):
    """``start_worker(**env)``: one more worker subprocess for this test, on a queue of its own
    (``worker.queue``; tests/worker.py's ``publishing_to(worker.queue)`` sends there), sending to the fake
    Postmark unless ``env`` says otherwise (``TP_TEST_POSTMARK_URL=""``). Stopped after the test."""
    workers = []

    def start(**env):
        env = {"TP_TEST_POSTMARK_URL": fake_postmark.url, **env}
        worker = Worker(f"{session_queue()}-{uuid.uuid4().hex[:8]}", env, worker_logs)
        workers.append(worker)
        with django_db_blocker.unblock():
            return worker.start()

    yield start
    with django_db_blocker.unblock():
        for worker in workers:
            worker.stop()


@pytest.fixture
def clean_outbox(transactional_db):
    """No outbox row in either tenant before the test, nor after it."""
    delete_outbox_rows()
    yield
    delete_outbox_rows()
