"""`manage.py dev` as a developer meets it: the debug toolbar on every host, naming the schema the
request ran in; one line per 404; no warning on a clean start or from a command. The toolbar is
the dev command's alone: the suite's settings (and production's) have none of it."""

import html
import json
import os
import re
import signal
import subprocess
import sys

import psutil
import pytest
from django.conf import settings
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from tests.test_dev_command import Browser, dev_env, free_port, manage, server_processes, wait_for
from tests.test_settings import PRODUCTION_ENV
from tests.test_settings import manage as production_manage

WARNING_WORDS = re.compile(r"warn", re.IGNORECASE)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """One `manage.py dev --no-reload` on fresh embedded servers for the module: its port and the
    path of its output (every process's lines, as the terminal shows them)."""
    folder = tmp_path_factory.mktemp("dev-toolbar")
    port, log, data = free_port(), folder / "dev.log", folder / "data"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "dev", "--port", str(port), "--no-reload"],
            cwd=settings.BASE_DIR,
            env=dev_env(data),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: (
                ("Quit the server with CONTROL-C" in log.read_text() and "ready." in log.read_text())
                or process.poll() is not None
            ),
            240,
            "the dev server and its worker",
        )
        assert process.poll() is None, log.read_text()
        yield port, log, data
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
                os.killpg(process.pid, signal.SIGKILL)
        for leftover in server_processes(data):
            leftover.kill()


def tenant_panel(browser: Browser, host: str, path: str) -> dict[str, str]:
    """The page at ``host``/``path`` with its toolbar, then the toolbar's Tenant panel for that
    request, fetched as the toolbar's own script does (render_panel with the page's request id)."""
    status, page, _ = browser.request(host, path)
    assert status == 200, page[:500]
    assert 'id="djDebug"' in page and 'id="djdt-TenantPanel"' in page, "no toolbar on the page"
    request_id = re.search(r'data-request-id="([0-9a-f]+)"', page).group(1)
    status, body, _ = browser.request(
        host, f"/__debug__/render_panel/?request_id={request_id}&panel_id=TenantPanel"
    )
    assert status == 200, body
    content = json.loads(body)["content"]
    rows = re.findall(r"<tr><th>([^<]+)</th><td><code>([^<]*)</code></td></tr>", content)
    return {name: html.unescape(value) for name, value in rows}


def test_the_toolbar_on_an_acme_page_shows_acme_schema(dev):
    port, _, _ = dev
    panel = tenant_panel(Browser(port), "acme.localhost", "/accounts/sign-in/")
    assert panel["Schema"] == "acme" and panel["Slug"] == "acme"
    assert panel["search_path"] == "acme, public"
    assert panel["URLconf"] == "config.urls_tenant"
    assert panel["Host"] == f"acme.localhost:{port}"
    assert panel["Status"] == "active"


def test_the_toolbar_on_the_root_domain_shows_the_public_schema(dev):
    port, _, _ = dev
    panel = tenant_panel(Browser(port), "localhost", "/")
    assert panel["Schema"] == "public" and panel["search_path"] == "public"
    assert panel["URLconf"] == "config.urls_public"


def test_another_tenant_page_shows_its_own_schema_not_acmes(dev):
    port, _, _ = dev
    panel = tenant_panel(Browser(port), "globex.localhost", "/accounts/sign-in/")
    assert (panel["Schema"], panel["Slug"], panel["search_path"]) == ("globex", "globex", "globex, public")


def test_a_404_is_logged_once(dev):
    port, log, _ = dev
    status, _, _ = Browser(port).request("acme.localhost", "/no-such-page-404-once/")
    assert status == 404
    # runserver's access line comes after the request's own log line: once it is there, so is that.
    wait_for(lambda: '"GET /no-such-page-404-once/ HTTP/1.1" 404' in log.read_text(), 20, "the access line")
    output = log.read_text()
    assert output.count("Not Found: /no-such-page-404-once/") == 1, output[-3000:]
    assert output.count('"GET /no-such-page-404-once/ HTTP/1.1" 404') == 1


def test_a_clean_dev_start_prints_no_warning(dev):
    _, log, _ = dev
    output = log.read_text().splitlines()
    # Up to the last line the fixture waited for (later tests' requests add lines of their own).
    last = max(
        next(i for i, line in enumerate(output) if "Quit the server with CONTROL-C" in line),
        next(i for i, line in enumerate(output) if "celery@" in line and "ready." in line),
    )
    lines = [line for line in output[: last + 1] if WARNING_WORDS.search(line)]
    if os.geteuid() == 0:
        # Celery warns a worker run as root (this VM's CI user), never a developer's own account.
        lines = [
            line for line in lines if "superuser privileges" not in line and "_warn_or_raise" not in line
        ]
    assert lines == [], "\n".join(lines)


def test_a_command_beside_dev_on_the_embedded_servers_prints_no_warning(dev):
    _, _, data = dev
    listed = manage("list_tenants", data_dir=data)
    assert listed.returncode == 0 and "acme" in listed.stdout, listed.stderr
    assert not WARNING_WORDS.search(listed.stderr), listed.stderr


@pytest.mark.parametrize("services", ["embedded", "from the environment"])
def test_manage_py_help_prints_no_warning(tmp_path, services):
    env = dev_env(tmp_path / "data")
    if services != "embedded":
        env |= {"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]}
    result = subprocess.run(
        [sys.executable, "manage.py", "help"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "dev" in result.stdout
    assert result.stderr == ""


def test_the_suite_and_production_settings_have_no_toolbar():
    assert settings.DEV_TOOLBAR is False
    assert "debug_toolbar" not in settings.INSTALLED_APPS
    assert not any("debug_toolbar" in middleware for middleware in settings.MIDDLEWARE)
    for urlconf in ("config.urls_public", "config.urls_tenant"):
        with pytest.raises(NoReverseMatch):
            reverse("djdt:render_panel", urlconf=urlconf)
        # The root domain's page catch-all (Wagtail) may take the path; the toolbar may not.
        try:
            match = resolve("/__debug__/render_panel/", urlconf=urlconf)
        except Resolver404:
            continue
        assert "djdt" not in match.namespaces and match.url_name == "wagtail_serve", match


def test_production_settings_never_turn_the_toolbar_on():
    script = "from django.conf import settings; print(settings.DEV_TOOLBAR, settings.INSTALLED_APPS)"
    env = {**PRODUCTION_ENV, "DEV_TOOLBAR": "1", "DJANGO_DEBUG": "1"}
    result = production_manage("shell", "-v", "0", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False [") and "debug_toolbar" not in result.stdout
