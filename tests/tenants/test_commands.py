"""The operator's command line: same service, one-line reasons, non-zero exits."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists

from tenants.models import Tenant
from tests.tenants.test_provisioning import welcome_link
from tests.worker import database_url

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_provision_tenant_prints_the_url_and_where_the_owners_link_went():
    output = run("provision_tenant", "umbrella", "--name", "Umbrella", "--owner-email", "alice@umbrella.test")
    assert f"http://umbrella.{settings.BASE_DOMAIN}:" in output
    assert "welcome email with a one-time link to set a password was sent to alice@umbrella.test" in output
    assert "worker's output" not in output  # a real provider delivers it
    assert schema_exists("umbrella")


def test_provision_tenant_says_where_development_mail_is_read(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # the development default
    output = run("provision_tenant", "umbrella", "--name", "Umbrella", "--owner-email", "alice@umbrella.test")
    assert "the console email backend prints it in the worker's output" in output


def test_provision_tenant_never_prints_the_owners_one_time_link():
    output = run("provision_tenant", "umbrella", "--name", "Umbrella", "--owner-email", "alice@umbrella.test")
    link = welcome_link("alice@umbrella.test")
    assert link not in output and "/accounts/reset/" not in output


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("acme", "already taken"),
        ("www", "reserved"),
        ("No_Good", "lowercase"),
        ("9lives", "start with a letter"),
    ],
)
def test_provision_tenant_refuses_a_bad_or_taken_slug_with_one_line(tenant, slug, reason):
    with pytest.raises(CommandError) as excinfo:
        run("provision_tenant", slug, "--name", "X", "--owner-email", "x@x.test")
    message = str(excinfo.value)
    assert reason in message and "\n" not in message


def test_provision_tenant_exits_non_zero_from_the_shell():
    # A reserved slug is refused before any database write; still, the process gets the test
    # database, never the one DATABASE_URL names (a developer's).
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "provision_tenant",
            "admin",
            "--name",
            "X",
            "--owner-email",
            "x@x.test",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: cannot provision 'admin': slug: 'admin' is reserved; choose another name."
    )


def test_list_tenants_shows_status_users_and_domains(tenant, other_tenant):
    output = run("list_tenants")
    lines = output.splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "STATUS", "USERS", "CREATED", "DOMAINS"]
    acme = next(line for line in lines if line.startswith("acme "))
    assert "active" in acme and tenant.primary_host in acme and " 1 " in acme


def test_suspend_and_reactivate_commands(tenant):
    run("suspend_tenant", "acme", "--reason", "audit")
    assert Tenant.objects.get(slug="acme").status == "suspended"
    assert "acme" in run("list_tenants", "--status", "suspended")
    run("reactivate_tenant", "acme")
    assert Tenant.objects.get(slug="acme").status == "active"


def test_commands_name_an_unknown_slug():
    with pytest.raises(CommandError, match="no tenant with slug 'nosuch'"):
        run("suspend_tenant", "nosuch")


def test_drop_tenant_needs_confirmation_then_drops_the_schema():
    run("provision_tenant", "temp-co", "--name", "Temp", "--owner-email", "t@temp.test")
    with pytest.raises(CommandError, match="--yes"):
        run("drop_tenant", "temp-co")
    assert schema_exists("temp_co")
    run("drop_tenant", "temp-co", "--yes")
    assert not schema_exists("temp_co") and not Tenant.objects.filter(slug="temp-co").exists()


def test_provision_tenant_refuses_an_owner_email_longer_than_the_user_column_with_one_line():
    from tests.tenants.test_provisioning import LONG_EMAIL

    with pytest.raises(CommandError) as excinfo:
        run("provision_tenant", "longmail", "--name", "Long Mail", "--owner-email", LONG_EMAIL)
    assert str(excinfo.value) == (
        "cannot provision 'longmail': owner_email: An email address is at most 254 characters long."
    )
    assert not Tenant.objects.filter(slug="longmail").exists() and not schema_exists("longmail")
