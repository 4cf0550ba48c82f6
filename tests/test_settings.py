"""Production settings: refuse to start without secrets, and pass `check --deploy` cleanly."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "x7$kq!2vRz9@pL4#nW8^tY6&bM3*cJ5(hF1)gD0_sA-eU+iO=rE" * 2,
    "DJANGO_ALLOWED_HOSTS": "example.com,.example.com",
    "DATABASE_URL": "postgres://app:secret@db.internal:5432/app",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "BASE_DOMAIN": "example.com",
    "EMAIL_PROVIDER": "postmark",
    "POSTMARK_SERVER_TOKEN": "server-token",
    "ANYMAIL_WEBHOOK_SECRET": "hook:secret",
}


def manage(*args, env):
    # Not the suite's DJANGO_SETTINGS_MODULE (tests.settings starts embedded servers): manage.py's own.
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"The environment variable {missing} must be set in production." in result.stderr


def test_production_refuses_a_mail_backend_that_delivers_nothing():
    env = {k: v for k, v in PRODUCTION_ENV.items()
           if k not in ("EMAIL_PROVIDER", "POSTMARK_SERVER_TOKEN", "ANYMAIL_WEBHOOK_SECRET")}
    result = manage("check", env=env)
    assert result.returncode != 0 and "Production needs a mail backend that delivers" in result.stderr
    smtp = manage("check", env={**env, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"})
    assert smtp.returncode == 0, smtp.stderr


def test_cookies_are_host_only_so_one_tenant_never_receives_anothers():
    assert settings.SESSION_COOKIE_DOMAIN is None
    assert settings.CSRF_COOKIE_DOMAIN is None
    assert settings.SESSION_COOKIE_HTTPONLY
