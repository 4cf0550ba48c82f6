"""Production settings: refuse to start without secrets, and pass `check --deploy` cleanly; where the
cache lives."""

import os
import runpy
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
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


REQUIRED_IN_PRODUCTION = ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"The environment variable {missing} must be set in production." in result.stderr


def test_production_refuses_a_mail_backend_that_delivers_nothing():
    env = {
        k: v
        for k, v in PRODUCTION_ENV.items()
        if k not in ("EMAIL_PROVIDER", "POSTMARK_SERVER_TOKEN", "ANYMAIL_WEBHOOK_SECRET")
    }
    result = manage("check", env=env)
    assert result.returncode != 0 and "Production needs a mail backend that delivers" in result.stderr
    smtp = manage("check", env={**env, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"})
    assert smtp.returncode == 0, smtp.stderr


def test_cookies_are_host_only_so_one_tenant_never_receives_anothers():
    assert settings.SESSION_COOKIE_DOMAIN is None
    assert settings.CSRF_COOKIE_DOMAIN is None
    assert settings.SESSION_COOKIE_HTTPONLY


def settings_under(monkeypatch, **env) -> dict:
    """config/settings.py evaluated afresh with these variables (and none of the cache's others)."""
    for name in ("REDIS_URL", "CACHE_URL", "CACHE_REDIS_DB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(settings.BASE_DIR / "config" / "settings.py"))


@pytest.mark.parametrize(
    ("env", "cache_url"),
    [
        ({"REDIS_URL": "redis://redis.internal:6379/0"}, "redis://redis.internal:6379/1"),
        ({"REDIS_URL": "redis://redis.internal:6379"}, "redis://redis.internal:6379/1"),
        ({"REDIS_URL": "redis://redis.internal:6379/4"}, "redis://redis.internal:6379/5"),
        ({"REDIS_URL": "unix:///run/redis.sock?db=2"}, "unix:///run/redis.sock?db=3"),
        (
            {"REDIS_URL": "redis://redis.internal:6379/4", "CACHE_REDIS_DB": "9"},
            "redis://redis.internal:6379/9",
        ),
        (
            {"REDIS_URL": "redis://redis.internal:6379/4", "CACHE_URL": "redis://cache.internal:6379/0"},
            "redis://cache.internal:6379/0",
        ),
    ],
)
def test_the_cache_takes_the_redis_database_after_the_brokers_unless_told_another(
    monkeypatch, env, cache_url
):
    assert settings_under(monkeypatch, **env)["CACHES"]["default"]["LOCATION"] == cache_url
