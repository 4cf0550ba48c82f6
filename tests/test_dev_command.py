"""`uv run manage.py dev` on a fresh machine: embedded PostgreSQL and Redis in a new data folder,
migrations, demo data, the web server, a worker and beat; Ctrl-C stops everything."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tenants.demo import DEMO_PASSWORD, OPERATOR_EMAIL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CACHE_REDIS_DB")}
    return {**env, "EMBEDDED_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


class Browser:
    """Just enough of a browser: a cookie jar per host, Host headers, and Django's CSRF form field."""

    def __init__(self, port):
        self.port = port
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirect)

    def request(self, host, path, data=None):
        url = f"http://{host}:{self.port}{path}"
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        # *.localhost resolves to loopback in browsers; here we connect to 127.0.0.1 and send the Host.
        request = urllib.request.Request(url.replace(host, "127.0.0.1", 1), data=body, headers={"Host": f"{host}:{self.port}"})
        request.add_header("Referer", url)
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def sign_in(self, host, email, password):
        status, page, _ = self.request(host, "/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _, headers = self.request(host, "/admin/login/?next=/admin/",
                                          {"csrfmiddlewaretoken": token, "username": email, "password": password})
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


@pytest.fixture
def dev_server(tmp_path):
    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "dev", "--port", str(port), "--no-reload"],
            cwd=settings.BASE_DIR, env=dev_env(tmp_path / "data"), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
    try:
        wait_for(lambda: "Quit the server with CONTROL-C" in log.read_text() or process.poll() is not None,
                 180, "the dev server")
        assert process.poll() is None, log.read_text()
        yield port, process, log, tmp_path / "data"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_dev_serves_both_admins_and_stops_everything_on_ctrl_c(dev_server):
    port, process, log, data = dev_server
    browser = Browser(port)
    status, page, _ = browser.request("localhost", "/admin/login/")
    assert status == 200 and "Platform operator" in page
    status, page, _ = browser.request("acme.localhost", "/admin/login/")
    assert status == 200 and "Acme admin" in page
    status, page, _ = browser.request("nosuch.localhost", "/")
    assert status == 404 and "There is no workspace" in page

    # The printed logins work.
    output = log.read_text()
    assert f"{OPERATOR_EMAIL} / {DEMO_PASSWORD}" in output and f"owner@acme.example / {DEMO_PASSWORD}" in output
    assert browser.sign_in("localhost", OPERATOR_EMAIL, DEMO_PASSWORD)
    assert browser.sign_in("acme.localhost", "owner@acme.example", DEMO_PASSWORD)
    assert not Browser(port).sign_in("acme.localhost", OPERATOR_EMAIL, DEMO_PASSWORD)

    wait_for(lambda: "celery@" in log.read_text() and "ready." in log.read_text(), 60, "the worker")
    assert "beat: Starting..." in log.read_text()

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    # The embedded PostgreSQL stopped with it (it removes its pid file on a clean shutdown).
    wait_for(lambda: not (data / "postgres" / "postmaster.pid").exists(), 30, "PostgreSQL to stop")


def test_a_second_run_reuses_the_data(tmp_path):
    env = dev_env(tmp_path / "data")
    command = [sys.executable, "manage.py", "dev", "--check"]
    first = subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    started = time.monotonic()
    second = subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("owner@acme.example") == 1  # seeded once, listed once
    assert "embedded, data in" in second.stdout
    # Not a speed test: a reused data folder must not trigger a fresh initdb and provisioning.
    assert time.monotonic() - started < 60
