"""Structured logs (config/logs.py): the tenant's schema, the request id, the user and the task on
every line, the request id from a request to the tasks it enqueues and to the emails they send,
nothing secret, nothing of one request on the next one's lines.

Web lines are read as the production handler renders them (JSON, through the formatter LOGGING
names); the worker is a real subprocess told LOG_FORMAT=json, whose lines the test reads back
from its log file.
"""

import io
import json
import logging
import uuid
from contextlib import contextmanager

import pytest
import structlog
from django.conf import settings

from config.logs import formatter
from tests.factories import PASSWORD
from tests.test_settings import PRODUCTION_ENV, settings_under
from tests.worker import publishing_to, wait_until

REQUEST_ID = "X-Request-ID"


class Lines(list):
    """The JSON lines written so far, parsed."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream

    def read(self) -> "Lines":
        self[:] = [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]
        return self

    def about(self, **fields) -> list[dict]:
        return [line for line in self.read() if all(line.get(k) == v for k, v in fields.items())]


@contextmanager
def web_lines():
    """Every line this process writes meanwhile, at every level, rendered as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield Lines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def worker_lines(worker) -> list[dict]:
    """The worker's JSON log lines (its banner and other plain output left out)."""
    lines = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def render(log_format: str, record: logging.LogRecord) -> str:
    return formatter(log_format).format(record)


def a_record(message="something happened", *args) -> logging.LogRecord:
    return logging.LogRecord("tests.logs", logging.WARNING, __file__, 1, message, args, None)


# --- The request id: from a request to its task and its email ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_request_to_acme_its_task_and_its_email_carry_acmes_schema_and_one_request_id(
    clean_outbox, start_worker, fake_postmark, email_settings, api_client, owner
):
    worker = start_worker(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    with publishing_to(worker.queue), web_lines() as web:
        response = api_client(owner).post(
            "/api/v1/invitations/", {"email": "new.person@example.test", "role": "member"}, format="json"
        )
    assert response.status_code == 201, response.content
    request_id = response[REQUEST_ID]
    assert len(request_id) == 32

    # The request's own line: it enqueued the send task, in acme, as the owner.
    [enqueued] = [line for line in web.about(request_id=request_id) if line.get("enqueued_task_name")]
    assert enqueued["schema"] == "acme"
    assert enqueued["user_id"] == owner.pk
    assert enqueued["enqueued_task_name"].startswith("outbox.send")
    task_id = enqueued["enqueued_task_id"]

    # The email reached the provider with the request's id in its headers...
    [email] = wait_until(lambda: [s for s in fake_postmark.accepted() if s.header(REQUEST_ID) == request_id])
    assert email.data["To"] == "new.person@example.test"

    # ...and the worker's lines of that task say acme, the task and the same request id.
    task_lines = wait_until(lambda: [line for line in worker_lines(worker) if line.get("task_id") == task_id])
    started = next(line for line in task_lines if line["event"] == "task started")
    assert started["schema"] == "acme"
    assert started["request_id"] == request_id
    assert started["user_id"] == owner.pk
    assert started["task_name"] == enqueued["enqueued_task_name"]
    # Celery's own line once the task succeeded is written after its context was cleared: it has
    # them too, from the task it names.
    succeeded = wait_until(
        lambda: [
            line
            for line in worker_lines(worker)
            if line.get("task_id") == task_id and "succeeded" in line["event"]
        ]
    )
    assert {(line["schema"], line["request_id"]) for line in succeeded} == {("acme", request_id)}


@pytest.mark.django_db(transaction=True)
def test_every_line_of_a_task_carries_its_task_id_and_the_next_tasks_lines_do_not(
    clean_outbox, start_worker, fake_postmark, email_settings, api_client, owner
):
    worker = start_worker(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    with publishing_to(worker.queue):
        api_client(owner).post("/api/v1/invitations/", {"email": "one@example.test"}, format="json")
        worker.ping()  # a task enqueued by no request, after the first one ran

    lines = worker_lines(worker)
    started = [line for line in lines if line["event"] == "task started"]
    assert len(started) >= 2
    assert all(line["task_id"] and line["task_name"] for line in started)
    ping = next(line for line in started if line["task_name"] == "tests.ping")
    assert "request_id" not in ping and "user_id" not in ping
    assert ping["schema"] == "public"


@pytest.mark.django_db
def test_a_task_run_eagerly_inside_a_request_has_its_own_id_and_hands_the_request_its_context_back():
    from tests.worker_tasks import fail

    structlog.contextvars.bind_contextvars(request_id="caller-request-1")
    try:
        with web_lines() as lines:
            fail.apply(("boom",))
            logging.getLogger("tests.logs").warning("after the task")
    finally:
        structlog.contextvars.clear_contextvars()

    [started] = lines.about(event="task started")
    assert started["request_id"] == "caller-request-1" and started["task_name"] == "tests.fail"
    [after] = lines.about(event="after the task")
    assert after["request_id"] == "caller-request-1" and "task_id" not in after


# --- Incoming request ids -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept_on_the_lines_and_the_response(tenant_client):
    with web_lines() as web:
        response = tenant_client.get("/no-such-page/", headers={REQUEST_ID: "edge-7f3a9c1e-42"})
    assert response[REQUEST_ID] == "edge-7f3a9c1e-42"
    [not_found] = web.about(logger="django.request")
    assert not_found["request_id"] == "edge-7f3a9c1e-42"
    assert not_found["schema"] == "acme"
    assert not_found["status_code"] == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "hostile",
    [
        "abc\x00defghijk",
        "a" * 10_000,
        "abcdefgh\nlevel=critical",
        "short",
        "<script>alert(1)</script>",
        "id with spaces",
    ],
    ids=["nul", "10kb", "newline", "too-short", "markup", "spaces"],
)
def test_a_hostile_incoming_request_id_is_replaced_by_a_fresh_one(tenant_client, hostile):
    with web_lines() as web:
        response = tenant_client.get("/no-such-page/", headers={REQUEST_ID: hostile})
    fresh = response[REQUEST_ID]
    assert fresh != hostile and uuid.UUID(hex=fresh)
    assert response.status_code in (400, 404)
    assert web.read() and all(line["request_id"] == fresh for line in web)
    assert hostile not in web.stream.getvalue()


@pytest.mark.django_db
def test_each_request_gets_its_own_id(tenant_client):
    first = tenant_client.get("/-/health/")[REQUEST_ID]
    second = tenant_client.get("/-/health/")[REQUEST_ID]
    assert first != second


# --- No leak from one request to the next ---------------------------------------------------------


@pytest.mark.django_db
def test_nothing_of_a_signed_in_request_shows_on_the_next_anonymous_ones_lines(web, member, tenant):
    signed_in, anonymous = web(member), web()
    with web_lines() as lines:
        # A page that reads the user (signed-in only) and answers 404: a line with the user on it.
        first = signed_in.get(f"/projects/{uuid.uuid4()}/")
        second = anonymous.get("/no-such-page/")
        logging.getLogger("tests.logs").warning("between requests")

    [one] = lines.about(request_id=first[REQUEST_ID], logger="django.request")
    assert one["user_id"] == member.pk
    [two] = lines.about(request_id=second[REQUEST_ID], logger="django.request")
    assert "user_id" not in two
    [between] = lines.about(event="between requests")
    assert "request_id" not in between and "user_id" not in between


@pytest.mark.django_db
def test_a_line_about_a_user_names_them_by_id_never_by_email(api_client, member):
    with web_lines() as lines:
        # Authenticated by its token, in the view (after every middleware), then not found.
        response = api_client(member).get(f"/api/v1/users/{uuid.uuid4()}/")
    assert response.status_code == 404
    [line] = lines.about(request_id=response[REQUEST_ID], logger="django.request")
    assert line["user_id"] == member.pk
    assert member.email not in lines.stream.getvalue()


# --- Nothing secret -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sign_in_and_a_token_request_leave_no_password_or_token_in_the_lines(
    tenant_client, api_client, outsider_api, member
):
    password = PASSWORD
    with web_lines() as lines:
        wrong = tenant_client.post(
            "/accounts/sign-in/", {"username": member.email, "password": "Wr0ng-" + password}
        )
        right = tenant_client.post("/accounts/sign-in/", {"username": member.email, "password": password})
        token_response = outsider_api.post(
            "/api/v1/auth/token/", {"email": member.email, "password": password}, format="json"
        )
        token = token_response.json().get("token", "")
        # The token used, then a forged one, then a one-time link that does not exist.
        outsider_api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        outsider_api.get("/api/v1/no-such/", HTTP_AUTHORIZATION=f"Bearer {token}")
        outsider_api.get("/api/v1/me/?token=" + "f" * 40, HTTP_AUTHORIZATION="Bearer " + "e" * 64)
        tenant_client.get("/accounts/invitations/secret-invitation-token-1234567890/")
        # Whatever a library or a careless call writes, in the message or in fields.
        logging.getLogger("tests.logs").warning(
            "Authorization: Bearer %s, link %s",
            token,
            "http://acme.localhost/accounts/reset/MQ/set-password/",
            extra={"password": password, "headers": {"Authorization": f"Token {token}"}},
        )

    assert wrong.status_code == 200 and right.status_code == 302
    assert token_response.status_code in (200, 201) and len(token) > 16
    text = lines.stream.getvalue()
    lines.read()
    assert len(lines) >= 4  # the 4xx lines and ours: there was something to scan
    for secret in (password, token, "f" * 40, "e" * 64, "secret-invitation-token-1234567890", "set-password"):
        assert secret not in text
    assert "[Filtered]" in text


def test_a_one_time_link_a_secret_parameter_and_credentials_are_cut_out_of_a_line():
    line = json.loads(
        render(
            "json",
            a_record(
                "GET %s %s %s",
                "/accounts/reset/Mg/abc-123def/",
                "/api/v1/me/?next=/x&access_token=s3cr3t",
                "Basic dXNlcjpwYXNzd29yZHBhc3N3b3Jk",
            ),
        )
    )
    assert line["event"] == (
        "GET /accounts/reset/[Filtered] /api/v1/me/?next=/x&access_token=[Filtered] Basic [Filtered]"
    )


# --- Formats --------------------------------------------------------------------------------------


def test_production_writes_json_lines_and_development_readable_ones(monkeypatch):
    production = settings_under(monkeypatch, **PRODUCTION_ENV)
    assert production["LOG_FORMAT"] == "json"
    monkeypatch.delenv("DJANGO_ENV")
    development = settings_under(monkeypatch)
    assert development["LOG_FORMAT"] == "console"

    for config, is_json in ((production["LOGGING"], True), (development["LOGGING"], False)):
        spec = dict(config["formatters"]["structured"])
        line = spec.pop("()")(**spec).format(a_record("the disk is %d%% full", 91))
        assert "\n" not in line
        if is_json:
            parsed = json.loads(line)
            assert parsed["event"] == "the disk is 91% full"
            assert parsed["level"] == "warning" and parsed["logger"] == "tests.logs"
            assert parsed["schema"] == "public" and parsed["timestamp"].endswith("Z")
        else:
            with pytest.raises(ValueError):
                json.loads(line)
            assert "the disk is 91% full" in line and "[tests.logs]" in line and "schema=public" in line


def test_an_unknown_log_format_stops_the_process_at_boot(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        settings_under(monkeypatch, LOG_FORMAT="xml")


def test_djangos_and_celerys_loggers_keep_no_handler_of_their_own_so_no_line_is_written_twice():
    for name in ("django", "django.request", "django.server", "celery", "tenant_apps.outbox"):
        logger = logging.getLogger(name)
        # Celery's NullHandler writes nothing (a library's "no output unless configured").
        writing = [h for h in logger.handlers if not isinstance(h, logging.NullHandler)]
        assert not writing and logger.propagate, name
    assert settings.LOGGING["formatters"]["structured"]["log_format"] == "console"
