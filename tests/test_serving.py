"""The web container's command (platform/entrypoint.sh web, with platform/gunicorn.conf.py) run
for real on this machine: production settings, the suite's database and Redis, a real worker."""

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.test_compose import ENTRYPOINT
from tests.test_settings import PRODUCTION_ENV
from tests.worker import database_url, wait_until

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the answer, as a probe sees it


def get(port: int, path: str):
    """(status, headers, body) of a plain-HTTP GET on the root domain, as a probe sends it; None
    while nothing listens yet."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": "example.com"})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
    except OSError:
        return None


def test_the_web_command_serves_readiness_with_production_settings(celery_worker, db):
    # `db`: the settings' NAME is then the test database's, which the server must use.
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "EMAIL_PROVIDER")},
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_URL": settings.CACHES["default"]["LOCATION"],
        # The suite's worker says it is alive under the run's key, for the run's queues.
        "WORKER_HEARTBEAT_KEY": settings.WORKER_HEARTBEAT_KEY,
        "READY_WORKER_QUEUES": ",".join(settings.READY_WORKER_QUEUES),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    server = subprocess.Popen(
        ["bash", str(ENTRYPOINT), "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        answer = wait_until(lambda: server.poll() is None and get(port, "/-/ready/"), timeout=60)
        status, headers, body = answer
        assert status == 200, body
        assert headers["Server"].startswith("gunicorn")
        # Probes are plain HTTP from inside the network: not sent to HTTPS, unlike every other page.
        assert get(port, "/")[0] == 301
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert server.returncode == 0, output
