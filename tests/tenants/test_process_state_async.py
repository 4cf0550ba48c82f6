"""No leak through async code: an ASGI request, its ``sync_to_async`` calls, its streaming response
and the threads it starts keep its tenant.

Requests go through ``config.asgi.application`` itself, as uvicorn or daphne would call it, with a
Host header. Django gives each ASGI request a thread of its own for its sync code (asgiref's
ThreadSensitiveContext), with a database connection of its own: those connections do not see the
test's transaction, so the views read what provisioning committed, each tenant's owner.
tenants/context.py carries the tenant into threads the request starts, whose connections would
otherwise start in the public schema.
"""

import asyncio
import contextvars
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django_tenants.utils import tenant_context

from config.asgi import application
from tests.tenants import process_state_urls

pytestmark = pytest.mark.django_db

ACME = ["owner@acme.test"]
GLOBEX = ["owner@globex.test"]


@pytest.fixture(autouse=True)
def _test_urls(settings):
    settings.ROOT_URLCONF = "tests.tenants.process_state_urls"


@pytest.fixture(autouse=True)
def _request_connections_closed():
    """The requests' threads open connections of their own; each is closed when its request ends
    (CONN_MAX_AGE 0 for the test), so none is left to hold the test database."""
    db_settings = connections.settings["default"]
    max_age = db_settings["CONN_MAX_AGE"]
    db_settings["CONN_MAX_AGE"] = 0
    yield
    db_settings["CONN_MAX_AGE"] = max_age


def emails_in_schema() -> list[str]:
    return sorted(get_user_model().objects.values_list("email", flat=True))


async def asgi_get(host: str, path: str, query: str = "") -> tuple[int, bytes]:
    """GET ``path`` through the ASGI application, as a server would call it: status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", host.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    body_sent = False
    done = asyncio.Event()
    messages = []

    async def receive():
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # the client stays connected until the whole answer arrived
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await application(scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def gated(*names: str) -> None:
    """Fresh events for requests that wait for each other, in the running loop."""
    for name in names:
        process_state_urls.GATES[name] = asyncio.Event()


def test_an_asgi_request_reads_its_tenants_rows_in_async_orm_calls_and_sync_to_async(tenant):
    """Catches an async view whose ORM calls (the async ORM and ``sync_to_async``, both run in the
    request's thread) or whose log lines (config/logs.py's ``schema``) are not in the schema the
    middleware chose: acme's request would read the public schema's accounts."""
    status, body = asyncio.run(asgi_get(tenant.primary_host, "/-/test/emails/"))
    assert status == 200, body
    answer = json.loads(body)
    assert answer["async_orm"] == answer["sync_to_async"] == ACME
    assert answer["log_schema"] == tenant.schema_name


def test_two_interleaved_asgi_requests_for_two_tenants_each_read_their_own_rows(tenant, other_tenant):
    """acme's and globex's requests both reach their views before either reads (each waits for
    the other), so their tenants are set, in one process and event loop, before any query. Catches
    a tenant kept anywhere shared by the two (a module global, one connection, a log context)."""

    async def both():
        gated("acme", "globex")
        return await asyncio.gather(
            asgi_get(tenant.primary_host, "/-/test/emails/", "me=acme&wait=globex"),
            asgi_get(other_tenant.primary_host, "/-/test/emails/", "me=globex&wait=acme"),
        )

    (acme_status, acme_body), (globex_status, globex_body) = asyncio.run(both())
    assert (acme_status, globex_status) == (200, 200), (acme_body, globex_body)
    acme, globex = json.loads(acme_body), json.loads(globex_body)
    assert acme["async_orm"] == acme["sync_to_async"] == ACME
    assert globex["async_orm"] == globex["sync_to_async"] == GLOBEX
    assert (acme["log_schema"], globex["log_schema"]) == (tenant.schema_name, other_tenant.schema_name)
    assert acme["request_id"] != globex["request_id"]


def test_a_streaming_response_read_after_the_view_returned_keeps_its_tenant(tenant, other_tenant):
    """A sync generator (Django consumes it in the request's thread) and an async one (the event
    loop, its ORM calls in the request's thread), two tenants at once. Catches a generator that
    queries after the view returned in whatever schema a connection was left in."""

    async def streams():
        gated("acme", "globex")
        return await asyncio.gather(
            asgi_get(tenant.primary_host, "/-/test/stream-sync/"),
            asgi_get(other_tenant.primary_host, "/-/test/stream-sync/"),
            asgi_get(tenant.primary_host, "/-/test/stream-async/", "me=acme&wait=globex"),
            asgi_get(other_tenant.primary_host, "/-/test/stream-async/", "me=globex&wait=acme"),
        )

    with pytest.warns(Warning, match="StreamingHttpResponse must consume synchronous iterators"):
        acme_sync, globex_sync, acme_async, globex_async = asyncio.run(streams())
    assert acme_sync == (200, b"start\nowner@acme.test\n")
    assert globex_sync == (200, b"start\nowner@globex.test\n")
    assert acme_async == (200, b"start\nowner@acme.test\nlog_schema=acme\n")
    assert globex_async == (200, b"start\nowner@globex.test\nlog_schema=globex\n")


def test_a_thread_started_with_the_requests_context_reads_the_requests_tenant(tenant):
    """``contextvars.copy_context().run`` in a new thread: its connection is the thread's own.
    Catches that connection starting in the public schema, where ``accounts_user`` is the
    operators' table: the thread would read the wrong accounts without an error."""
    read = {}

    def work():
        try:
            read["emails"] = emails_in_schema()
            read["schema"] = connection.schema_name
        finally:
            connection.close()

    with tenant_context(tenant):
        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
        thread.start()
        thread.join()
    assert read == {"emails": ACME, "schema": tenant.schema_name}


def test_a_fresh_thread_without_the_context_stays_in_the_public_schema(tenant):
    """The other side: a thread that did not take the request's context (a plain Thread has an
    empty one) is not put in a tenant. Catches a tenant held in a process global."""
    read = {}

    def work():
        try:
            read["schema"] = connection.schema_name
        finally:
            connection.close()

    with tenant_context(tenant):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert read == {"schema": "public"}


def test_sync_to_async_off_the_requests_thread_reads_the_callers_tenant(tenant):
    """``sync_to_async(thread_sensitive=False)`` and ``asyncio.to_thread`` run in an executor's
    thread (fresh here), which gets the caller's context but a connection of its own. Catches that
    connection starting in the public schema."""

    def read():
        try:
            return emails_in_schema()
        finally:
            connection.close()

    async def off_thread():
        return (
            await sync_to_async(read, thread_sensitive=False)(),
            await asyncio.to_thread(read),
        )

    # asyncio.run's task starts with a copy of this thread's context, in acme.
    with tenant_context(tenant):
        assert asyncio.run(off_thread()) == (ACME, ACME)
