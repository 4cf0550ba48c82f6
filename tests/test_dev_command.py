"""A developer's machine: `uv run manage.py dev` and `uv run pytest` on a fresh clone, with the
embedded PostgreSQL and Redis in a new data folder. Migrations, demo data, the web server, a worker
and beat; links carry the port in use; Ctrl-C, or the end of a test run, stops every server."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from config.demo import DEMO_PASSWORD, OPERATOR_EMAIL

# Words that read like a failure in what the platform prints while it stops.
FAILURE_WORDS = re.compile(r"error|exception|traceback|fail|warning|rc=-|killed|ignored", re.IGNORECASE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_env(data_dir: Path) -> dict:
    """The environment of a fresh clone: no service URLs, the embedded servers' data in ``data_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "CACHE_URL",
            "DJANGO_SETTINGS_MODULE",
            "CACHE_REDIS_DB",
            "PUBLIC_PORT",
        )
    }
    return {**env, "EMBEDDED_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


class Browser:
    """Just enough of a browser: a cookie jar per host, Host headers, and Django's CSRF form field."""

    def __init__(self, port):
        self.port = port
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies, NoRedirect)

    def request(self, host, path, data=None, headers=None, json_body=None):
        url = f"http://{host}:{self.port}{path}"
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Host": f"{host}:{self.port}", "Referer": url, **(headers or {})}
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        # *.localhost resolves to loopback in browsers; here we connect to 127.0.0.1 and send the Host.
        request = urllib.request.Request(url.replace(host, "127.0.0.1", 1), data=body, headers=headers)
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def sign_in(self, host, email, password):
        status, page, _ = self.request(host, "/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": email, "password": password}
        status, _, headers = self.request(host, "/admin/login/?next=/admin/", form)
        return status == 302 and headers["Location"] == "/admin/"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def manage(*args, data_dir, timeout=300):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=dev_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def welcome_email_row(data_dir: Path, schema: str) -> str:
    """Every column of the owner's welcome email in ``schema``, as a command of its own reads it."""
    script = textwrap.dedent(f"""
        from django_tenants.utils import schema_context
        from tenant_apps.outbox.models import OutboxMessage
        with schema_context({schema!r}):
            row = OutboxMessage.objects.get(template="accounts/owner_welcome")
            print({{field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}})
    """)
    shell = manage("shell", "-v", "0", "-c", script, data_dir=data_dir)
    assert shell.returncode == 0, shell.stderr
    return shell.stdout


def server_processes(data_dir: Path) -> list[psutil.Process]:
    """The running processes working in ``data_dir``: a postgres runs in its data folder, the
    embedded redis-server in the folder of its snapshot."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            cwd = Path(process.cwd())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if cwd == data_dir or data_dir in cwd.parents:
            found.append(process)
    return found


def server_names(processes) -> set[str]:
    names = set()
    for process in processes:
        try:
            name = process.name()
        except psutil.NoSuchProcess:
            continue
        names |= {server for server in ("postgres", "redis") if server in name}
    return names


def links_in(text: str) -> list[urllib.parse.SplitResult]:
    return [urllib.parse.urlsplit(url) for url in re.findall(r"https?://[^\s\"'<>\\]+", text)]


@pytest.fixture
def dev_server(tmp_path):
    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "dev", "--port", str(port), "--no-reload"],
            cwd=settings.BASE_DIR,
            env=dev_env(tmp_path / "data"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    try:
        wait_for(
            lambda: "Quit the server with CONTROL-C" in log.read_text() or process.poll() is not None,
            180,
            "the dev server",
        )
        assert process.poll() is None, log.read_text()
        yield port, process, log, tmp_path / "data"
    finally:
        # A failed test must not leave processes behind: honcho runs each child in a session of its
        # own, out of reach of a signal to the dev command's group.
        if process.poll() is None:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            os.killpg(process.pid, signal.SIGKILL)
        for leftover in server_processes(tmp_path / "data"):
            leftover.kill()


def test_dev_serves_both_admins_and_stops_everything_on_ctrl_c(dev_server):
    port, process, log, data = dev_server
    browser = Browser(port)
    status, page, _ = browser.request("localhost", "/admin/login/")
    assert status == 200 and "Platform operator" in page
    status, page, _ = browser.request("acme.localhost", "/admin/login/")
    assert status == 200 and "Acme admin" in page
    status, page, _ = browser.request("nosuch.localhost", "/")
    assert status == 404 and "There is no workspace" in page

    # The address runserver prints is the operator's site, not an address no workspace answers.
    printed = links_in(re.search(r"Starting development server at (\S+)", log.read_text()).group(1))[0]
    assert (printed.hostname, printed.port) == ("localhost", port)
    status, page, _ = browser.request(printed.hostname, printed.path)
    assert status == 200 and "no workspace" not in page.lower()

    # The printed logins work.
    output = log.read_text()
    assert f"{OPERATOR_EMAIL} / {DEMO_PASSWORD}" in output
    assert f"owner@acme.example / {DEMO_PASSWORD}" in output
    assert browser.sign_in("localhost", OPERATOR_EMAIL, DEMO_PASSWORD)
    assert browser.sign_in("acme.localhost", "owner@acme.example", DEMO_PASSWORD)
    assert not Browser(port).sign_in("acme.localhost", OPERATOR_EMAIL, DEMO_PASSWORD)

    # The web child builds links with the port it serves on: the operator API's tenant URLs.
    status, body, _ = browser.request(
        "localhost", "/api/v1/auth/token/", json_body={"email": OPERATOR_EMAIL, "password": DEMO_PASSWORD}
    )
    assert status == 200, body
    token = json.loads(body)["token"]
    status, body, _ = browser.request(
        "localhost", "/api/v1/tenants/", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, body
    urls = [urllib.parse.urlsplit(tenant["url"]) for tenant in json.loads(body)["results"]]
    assert {url.hostname for url in urls} >= {"acme.localhost", "globex.localhost"}
    assert {url.port for url in urls} == {port}
    # A tenant provisioned through the API: its links, and the welcome email to its owner.
    status, body, _ = browser.request(
        "localhost",
        "/api/v1/tenants/",
        headers={"Authorization": f"Bearer {token}"},
        json_body={"slug": "initech", "name": "Initech", "owner_email": "boss@initech.example"},
    )
    assert status == 201, body
    provisioned = json.loads(body)
    assert urllib.parse.urlsplit(provisioned["url"])[1] == f"initech.localhost:{port}", provisioned
    # The owner's set-password link is only in their welcome email, checked next.
    assert "set_password_url" not in provisioned
    assert {link.port for link in links_in(welcome_email_row(data, "initech"))} == {port}

    # Another command on the same data joins the running servers and leaves them running.
    listed = manage("list_tenants", data_dir=data)
    assert listed.returncode == 0 and "acme" in listed.stdout, listed.stderr
    assert browser.request("acme.localhost", "/admin/login/")[0] == 200

    wait_for(lambda: "celery@" in log.read_text() and "ready." in log.read_text(), 60, "the worker")
    assert "beat: Starting..." in log.read_text()
    assert server_names(server_processes(data / "dev")) == {"postgres", "redis"}

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    # Every server stopped with it (they stop before the process exits), quietly.
    assert server_processes(data) == []
    shutdown = log.read_text().split("SIGINT received", 1)[1]
    assert not FAILURE_WORDS.search(shutdown), shutdown


@pytest.fixture(scope="module")
def checked_dev_data(tmp_path_factory):
    """A fresh clone's first `manage.py dev --port 8123 --check`: its data folder and output."""
    data = tmp_path_factory.mktemp("dev-check") / "data"
    first = manage("dev", "--port", "8123", "--check", data_dir=data)
    assert first.returncode == 0, first.stdout + first.stderr
    return data, first


def test_dev_check_prints_every_link_with_the_port_given(checked_dev_data):
    _, first = checked_dev_data
    links = links_in(first.stdout)
    assert len(links) >= 6  # the operator site, a 404 example, and the demo logins
    assert {link.port for link in links} == {8123}, first.stdout


def test_dev_check_fills_the_tenant_pool_after_seeding(checked_dev_data):
    data, first = checked_dev_data
    size = settings.TENANT_POOL_SIZE
    assert f"Tenant pool: {size} spare schemas ready ({size} made" in first.stdout, first.stdout
    # The demo tenants took no spare from it: they were seeded before the refill.
    count = "from tenants import pool; print(pool.ready_spares())"
    shell = manage("shell", "-v", "0", "-c", count, data_dir=data)
    assert (shell.returncode, shell.stdout.strip()) == (0, str(size)), shell.stderr


def test_a_second_run_reuses_the_data(checked_dev_data):
    data, _ = checked_dev_data
    started = time.monotonic()
    second = manage("dev", "--port", "8123", "--check", data_dir=data)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("owner@acme.example") == 1  # seeded once, listed once
    assert f"embedded, data in {data / 'dev'}" in second.stdout
    # Not a speed test: a reused data folder must not trigger a fresh initdb and provisioning.
    assert time.monotonic() - started < 60
    assert server_processes(data) == []


def test_a_command_killed_outright_leaves_servers_that_the_next_command_stops(checked_dev_data):
    data, _ = checked_dev_data
    hold = "print('connected', flush=True); import time; time.sleep(300)"
    holder = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", hold],
        cwd=settings.BASE_DIR,
        env=dev_env(data),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "connected"
        assert server_names(server_processes(data)) == {"postgres", "redis"}
        holder.kill()  # SIGKILL: no exit handler runs
        holder.wait(timeout=30)
        assert server_names(server_processes(data)) == {"postgres", "redis"}
        # The next command finds the dead holder, reuses the servers and, as the last one, stops them.
        listed = manage("list_tenants", data_dir=data)
        assert listed.returncode == 0 and "acme" in listed.stdout, listed.stderr
        assert server_processes(data) == []
    finally:
        holder.kill()
        holder.stdout.close()


@pytest.mark.parametrize(
    "command", [[], ["--help"], ["help"], ["dev", "--help"], ["list_tenants", "-h"], ["check"], ["--version"]]
)
def test_help_and_commands_that_need_no_database_start_no_server(tmp_path, command):
    result = manage(*command, data_dir=tmp_path / "data", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "data").exists(), "an embedded server was started"
    assert server_processes(tmp_path) == []


INNER_TEST = """
import json
import os

from django.core.cache import cache
from django.db import connection


def test_uses_both_servers(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("inner", "value")  # a connection still open when pytest exits
    with open(os.environ["INNER_REPORT"], "w") as report:
        json.dump({name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL")}, report)
"""


def test_pytest_stops_its_embedded_servers_and_keeps_its_data_apart_from_dev(tmp_path):
    inner, report, data = tmp_path / "test_inner.py", tmp_path / "report.json", tmp_path / "data"
    inner.write_text(INNER_TEST)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(inner),
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-c",
            str(settings.BASE_DIR / "pyproject.toml"),
            "--rootdir",
            str(settings.BASE_DIR),
        ],
        cwd=settings.BASE_DIR,
        env={**dev_env(data), "INNER_REPORT": str(report)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    # It ran on embedded servers in the test folder ...
    urls = json.loads(report.read_text())
    assert str(data / "test") in urllib.parse.unquote(urls["DATABASE_URL"]) + urls["REDIS_URL"]
    assert (data / "test" / "postgres" / "PG_VERSION").is_file() and (data / "test" / "redis.rdb").is_file()
    assert not (data / "dev").exists()
    # ... which stopped before pytest exited, quietly.
    assert [(p.pid, p.cmdline(), p.cwd()) for p in server_processes(data)] == []
    assert not FAILURE_WORDS.search(result.stderr), result.stderr


def test_a_holder_whose_pid_another_process_took_does_not_keep_the_servers_up(tmp_path):
    from config.embedded import _Postgres

    server = _Postgres(tmp_path)
    # pid 1 is alive, but it is not the process that joined: its start time differs. Pids wrap
    # (32768 here), so a dead holder's pid is soon someone else's.
    impostor = [1, psutil.Process(1).create_time() - 1000]
    server.holders_file.write_text(json.dumps([impostor]))
    server.join()
    assert server.leave() is True, "the pid of a dead holder kept the servers up"
    assert json.loads(server.holders_file.read_text()) == []


def test_importing_the_project_package_reads_no_settings(tmp_path):
    """manage.py imports config (so config.celery) before the embedded servers export DATABASE_URL
    and REDIS_URL: settings read at that import would keep the defaults, and `manage.py dev` on a
    fresh clone would connect to a PostgreSQL that is not there."""
    script = "import config, config.embedded; from django.conf import settings; print(settings.configured)"
    env = {**dev_env(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
