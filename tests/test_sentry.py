"""Sentry (config/sentry.py): an error in a tenant's request reaches Sentry tagged with the tenant
and the request id, and without a secret, through sentry-sdk's real client and transport, sent to
a local server that speaks Sentry's envelope ingest API."""

import gzip
import json
import threading
import urllib.error
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import sentry_sdk
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import tenant_context

from config.sentry import FILTERED, init_sentry, scrub_event
from config.urls_tenant import urlpatterns as tenant_urlpatterns
from tests.worker import publishing_to, wait_until
from tests.worker_tasks import fail

pytestmark = pytest.mark.django_db

SECRETS = {
    "form password": "hunter2-form-password",
    "form token": "form-token-0b5e2c",
    "new password": "correct-horse-battery",
    "reset link": "/accounts/reset/MQ/c3x1ab-0123456789abcdef0123/",
    "bearer": "api-bearer-7f3a9d",
    "cookie": "session-cookie-9e8d7c",
    "local password": "local-password-4b2a",
    "local token": "local-token-d41d8c",
    "query token": "query-token-6a5b4c",
}


@csrf_exempt  # a form post without a CSRF cookie, so the view itself runs
def broken_view(request):
    """A view that fails with secrets in its local variables, the way a real bug would."""
    password = SECRETS["local password"]  # noqa: F841  (read by Sentry from the frame)
    api_token = SECRETS["local token"]  # noqa: F841
    raise RuntimeError("the widget is in a bad state")


# The tenant URLconf with one route that fails (settings.ROOT_URLCONF, in the test below).
urlpatterns = [path("broken/", broken_view), *tenant_urlpatterns]


class FakeSentry:
    """Sentry's ingest: POST /api/<project>/envelope/, a gzip (or deflate) body of newline-separated
    JSON: the envelope's header, then each item's header and payload."""

    def __init__(self):
        self.envelopes: list[bytes] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.path.endswith("/envelope/"):
                    fake.envelopes.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def dsn(self) -> str:
        return f"http://public-key@127.0.0.1:{self.server.server_address[1]}/1"

    def events(self) -> list[tuple[dict, bytes]]:
        """(event, the raw envelope it came in) for every error event received."""
        found = []
        for raw in self.envelopes:
            lines = raw.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append((json.loads(payload), raw))
        return found


@pytest.fixture
def sentry():
    fake = FakeSentry()
    fake.thread.start()
    init_sentry(fake.dsn, environment="test")
    yield fake
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)  # later tests run without Sentry, as before
    fake.server.shutdown()
    fake.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_tenant_request_reaches_sentry_tagged_and_without_secrets(
    sentry, settings, tenant, live_server
):
    # A real server (Django's WSGI handler, which sentry-sdk wraps as in production), on acme's host.
    settings.ROOT_URLCONF = __name__
    form = urlencode(
        {
            "password": SECRETS["form password"],
            "token": SECRETS["form token"],
            "new_password1": SECRETS["new password"],
            "next": f"http://acme.localhost{SECRETS['reset link']}",
            "title": "an ordinary field",
        }
    ).encode()
    request = urllib.request.Request(
        f"{live_server.url}/broken/?token={SECRETS['query token']}&page=2",
        data=form,
        headers={
            "Host": tenant.primary_host,
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {SECRETS['bearer']}",
            "Cookie": f"sessionid={SECRETS['cookie']}",
            "X-Request-ID": "req-8c1f-test",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=10)
    assert failed.value.code == 500
    sentry_sdk.flush(timeout=10)

    [(event, raw)] = wait_until(sentry.events, timeout=10)
    assert event["tags"]["tenant"] == "acme"
    assert event["tags"]["request_id"] == "req-8c1f-test"
    assert event["exception"]["values"][-1]["value"] == "the widget is in a bad state"
    assert event["request"]["data"]["title"] == "an ordinary field"  # scrubbing is not blanket
    assert event["request"]["data"]["password"] == FILTERED
    assert "user" not in event
    text = raw.decode(errors="replace")
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert leaked == []


@pytest.mark.django_db(transaction=True)
def test_a_task_that_fails_in_the_worker_reaches_sentry_tagged_with_its_tenant(sentry, start_worker, tenant):
    worker = start_worker(SENTRY_DSN=sentry.dsn)  # the worker's settings turn Sentry on
    with publishing_to(worker.queue), tenant_context(tenant):
        fail.delay("the task hit a bad state")

    [(event, raw)] = wait_until(sentry.events, timeout=30)
    assert event["tags"]["tenant"] == "acme"
    assert event["tags"]["celery_task_id"]
    assert event["exception"]["values"][-1]["value"] == "the task hit a bad state"
    assert "the task hit a bad state"[::-1].encode() not in raw  # its local variable api_token


def test_an_error_on_the_root_domain_is_tagged_public():
    event = {"request": {"headers": {"X-Request-Id": "req-root"}}, "tags": {}}
    from config.sentry import before_send

    tagged = before_send(event, {})
    assert tagged["tags"] == {"tenant": "public", "request_id": "req-root"}


def test_the_scrubber_filters_secret_keys_at_any_depth_and_one_time_links_in_any_text():
    event = {
        "extra": {"outer": {"reset_link": "x", "api_key": "y", "count": 3}},
        "message": "<WSGIRequest: GET '/x/?page=2&access_token=abc123&Next=/'>",
        "breadcrumbs": {
            "values": [{"message": "sent http://a.test/accounts/invitations/AbCdEf0123456789xyz/"}]
        },
        "exception": {
            "values": [{"stacktrace": {"frames": [{"vars": {"secret_values": {"a": "b"}, "n": 1}}]}}]
        },
    }

    scrubbed = scrub_event(event)

    assert scrubbed["message"] == f"<WSGIRequest: GET '/x/?page=2&access_token={FILTERED}&Next=/'>"
    assert scrubbed["extra"]["outer"] == {"reset_link": FILTERED, "api_key": FILTERED, "count": 3}
    assert (
        scrubbed["breadcrumbs"]["values"][0]["message"]
        == f"sent http://a.test/accounts/invitations/{FILTERED}"
    )
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {
        "secret_values": FILTERED,
        "n": 1,
    }
