"""Secrets from files (config/env.py): every setting read from the environment may come from the
file ``<NAME>_FILE`` names instead, as Docker and Kubernetes secrets are mounted."""

import pytest

from tests.test_settings import PRODUCTION_ENV, manage, settings_under

SECRETS = ["DJANGO_SECRET_KEY", "DATABASE_URL", "POSTMARK_SERVER_TOKEN", "ANYMAIL_WEBHOOK_SECRET"]


@pytest.fixture
def secret_files(tmp_path):
    """``secret_files(**values)``: one file per variable, each ending in a newline as `echo` writes;
    returns the ``<NAME>_FILE`` variables naming them."""

    def write(**values):
        variables = {}
        for name, value in values.items():
            path = tmp_path / name.lower()
            path.write_text(value + "\n")
            variables[f"{name}_FILE"] = str(path)
        return variables

    return write


def test_production_reads_its_secrets_from_files_and_passes_check_deploy(secret_files):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in SECRETS}
    env |= secret_files(**{name: PRODUCTION_ENV[name] for name in SECRETS})
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_a_secret_read_from_a_file_loses_only_its_trailing_newline(monkeypatch, secret_files):
    files = secret_files(
        DJANGO_SECRET_KEY=" key with spaces ",
        ANYMAIL_WEBHOOK_SECRET="hook:secret",
        POSTMARK_SERVER_TOKEN="tok",
    )
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    env = {k: v for k, v in PRODUCTION_ENV.items() if f"{k}_FILE" not in files}
    loaded = settings_under(monkeypatch, **env, **files)
    assert loaded["SECRET_KEY"] == " key with spaces "
    assert loaded["ANYMAIL"]["WEBHOOK_SECRET"] == "hook:secret"
    assert loaded["ANYMAIL"]["POSTMARK_SERVER_TOKEN"] == "tok"


def test_the_database_password_may_come_from_a_file_apart_from_the_url(monkeypatch, secret_files):
    files = secret_files(DATABASE_PASSWORD="p@ss:word/with#odd")
    loaded = settings_under(monkeypatch, DATABASE_URL="postgres://app@db.internal:5432/app", **files)
    database = loaded["DATABASES"]["default"]
    assert (database["USER"], database["PASSWORD"], database["HOST"]) == (
        "app",
        "p@ss:word/with#odd",
        "db.internal",
    )


def test_a_variable_set_both_directly_and_through_a_file_stops_the_process(secret_files):
    env = {**PRODUCTION_ENV, **secret_files(DJANGO_SECRET_KEY="another")}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY or DJANGO_SECRET_KEY_FILE, not both." in result.stderr


def test_an_unreadable_secret_file_stops_the_process_naming_the_variable(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "ANYMAIL_WEBHOOK_SECRET"}
    missing = tmp_path / "no-such-secret"
    result = manage("check", env={**env, "ANYMAIL_WEBHOOK_SECRET_FILE": str(missing)})
    assert result.returncode != 0
    assert (
        f"ANYMAIL_WEBHOOK_SECRET_FILE='{missing}' cannot be read: No such file or directory." in result.stderr
    )


def test_an_empty_secret_file_counts_as_a_missing_secret(tmp_path):
    empty = tmp_path / "secret_key"
    empty.write_text("\n")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", env={**env, "DJANGO_SECRET_KEY_FILE": str(empty)})
    assert result.returncode != 0
    assert "The environment variable DJANGO_SECRET_KEY must be set in production." in result.stderr
