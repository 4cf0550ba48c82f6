"""platform/Caddyfile, checked by Caddy itself (``caddy validate`` and ``caddy adapt``; .ci/run
installs Debian's caddy) and against what the app serves: the on-demand TLS question goes to the
app's endpoint on the compose service, and the plain-HTTP site passes the verification tokens on."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings
from django.test import Client
from django.urls import resolve

from tenants import domains
from tenants.domain_verification import TLS_ASK_PATH

ROOT = Path(__file__).resolve().parent.parent
CADDYFILE = ROOT / "platform" / "Caddyfile"

# Like the browser tests and Chromium: `uv run pytest` on a fresh clone needs nothing but uv, so a
# machine without Caddy says why these are not run; CI (.ci/run) installs Caddy and runs them.
needs_caddy = pytest.mark.skipif(
    shutil.which("caddy") is None, reason="no Caddy on this machine (apt-get install caddy)"
)


def caddy(*args, tmp_path) -> subprocess.CompletedProcess:
    executable = shutil.which("caddy")
    assert executable, "caddy is not installed: `apt-get install caddy` (.ci/run does)"
    # Caddy keeps state under $HOME / XDG dirs: a directory of the test's own.
    env = {
        **os.environ,
        "BASE_DOMAIN": "example.com",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    return subprocess.run(
        [executable, *args, "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def adapted(tmp_path) -> dict:
    result = caddy("adapt", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs_caddy
def test_caddy_validates_the_caddyfile_and_finds_it_formatted(tmp_path):
    result = caddy("validate", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    assert "not formatted" not in result.stderr


@needs_caddy
def test_on_demand_certificates_ask_the_apps_endpoint_on_the_web_service(adapted):
    tls = adapted["apps"]["tls"]["automation"]
    ask = urlsplit(tls["on_demand"]["ask"])
    assert ask.path == TLS_ASK_PATH
    web = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["web"]
    assert (ask.hostname, ask.port) == ("web", 8000) and "8000:8000" in web["ports"]
    # The wildcard site keeps its own certificates; only the other names are on demand.
    policies = tls["policies"]
    assert {"example.com", "*.example.com"} == set(policies[0]["subjects"])
    assert policies[1] == {"on_demand": True}


@needs_caddy
def test_plain_http_passes_the_verification_token_path_to_the_app(adapted):
    servers = adapted["apps"]["http"]["servers"]
    [http] = [server for server in servers.values() if server["listen"] == [":80"]]
    text = json.dumps(http)
    assert json.dumps(domains.WELL_KNOWN_PREFIX + "*") in text
    assert '"dial": "web:8000"' in text


@needs_caddy
def test_every_way_to_web_asks_its_readiness_page_on_the_root_domain(adapted):
    text = json.dumps(adapted)
    proxies = re.findall(r'\{"handler": "reverse_proxy".*?"upstreams": \[\{"dial": "web:8000"\}\]\}', text)
    assert len(proxies) == 3, "the wildcard site, the on-demand site and the verification tokens"
    for proxy in map(json.loads, proxies):
        active = proxy["health_checks"]["active"]
        assert resolve(active["uri"], urlconf=settings.PUBLIC_SCHEMA_URLCONF).url_name == "ready"
        assert active["headers"] == {"Host": ["example.com"]}  # BASE_DOMAIN: where /-/ready/ is served
        assert proxy["headers"]["request"]["set"]["Host"] == ["{http.request.host}"]


@pytest.mark.django_db
def test_the_ask_endpoint_answers_caddys_request(tenant):
    # As Caddy sends it: its own Host (the service's name and port), the name in ?domain=.
    client = Client(HTTP_HOST="web:8000")
    assert client.get(TLS_ASK_PATH, {"domain": tenant.primary_host}).status_code == 200
    assert client.get(TLS_ASK_PATH, {"domain": "not-ours.example.org"}).status_code == 404
