"""The email backend is chosen by environment variables (config/settings.py, "Transactional email")."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings.py"


def load_settings(monkeypatch, **env) -> dict:
    for name in (
        "EMAIL_PROVIDER",
        "EMAIL_BACKEND",
        "POSTMARK_SERVER_TOKEN",
        "SENDGRID_API_KEY",
        "MAILGUN_API_KEY",
        "BREVO_API_KEY",
        "ANYMAIL_WEBHOOK_SECRET",
        "DJANGO_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


@pytest.mark.parametrize(
    "provider, key, backend",
    [
        ("postmark", "POSTMARK_SERVER_TOKEN", "tenant_apps.outbox.backends.PostmarkEmailBackend"),
        ("sendgrid", "SENDGRID_API_KEY", "anymail.backends.sendgrid.EmailBackend"),
        ("mailgun", "MAILGUN_API_KEY", "anymail.backends.mailgun.EmailBackend"),
        ("brevo", "BREVO_API_KEY", "anymail.backends.brevo.EmailBackend"),
    ],
)
def test_email_provider_selects_the_anymail_backend_and_its_key(monkeypatch, provider, key, backend):
    settings = load_settings(monkeypatch, EMAIL_PROVIDER=provider, **{key: "secret-key"})

    assert settings["EMAIL_BACKEND"] == backend
    assert settings["ANYMAIL"][key] == "secret-key"


def test_amazon_ses_needs_no_key_of_its_own(monkeypatch):
    settings = load_settings(monkeypatch, EMAIL_PROVIDER="amazon_ses")

    assert settings["EMAIL_BACKEND"] == "anymail.backends.amazon_ses.EmailBackend"


def test_a_chosen_provider_without_its_key_stops_the_process_at_boot(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="POSTMARK_SERVER_TOKEN"):
        load_settings(monkeypatch, EMAIL_PROVIDER="postmark")


def test_an_unknown_provider_stops_the_process_at_boot(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PROVIDER"):
        load_settings(monkeypatch, EMAIL_PROVIDER="carrier-pigeon")


def test_without_a_provider_development_keeps_the_console_or_smtp_backend(monkeypatch):
    console = load_settings(monkeypatch)
    mailpit = load_settings(
        monkeypatch,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="mailpit",
        EMAIL_PORT="1025",
    )

    assert console["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert (mailpit["EMAIL_BACKEND"], mailpit["EMAIL_HOST"], mailpit["EMAIL_PORT"]) == (
        "django.core.mail.backends.smtp.EmailBackend",
        "mailpit",
        1025,
    )


def test_resend_gets_the_dedup_key_as_its_idempotency_key_header(monkeypatch):
    from django.core.mail import EmailMessage

    from tenant_apps.outbox.backends import ResendEmailBackend

    settings = load_settings(monkeypatch, EMAIL_PROVIDER="resend", RESEND_API_KEY="re_key")
    email = EmailMessage("Hi", "Body", "no-reply@platform.test", ["ann@example.com"])
    email.metadata = {"dedup_key": "abc123", "tenant": "acme"}

    payload = ResendEmailBackend(api_key="re_key").build_message_payload(email, {})

    assert settings["EMAIL_BACKEND"] == "tenant_apps.outbox.backends.ResendEmailBackend"
    assert payload.headers["Idempotency-Key"] == "abc123"
