"""The email settings of the outbox tests, in one place for both processes that need them.

The test process renders and queues emails (templates, sender); the worker subprocess sends them
(anymail's Postmark backend against the session's fake Postmark server, fast retries). A setting
changed in the test process never reaches the worker, so both read it from here.
"""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent / "outbox" / "templates"
WEBHOOK_SECRET = "postmark:webhook-secret"
FROM_EMAIL = "no-reply@platform.test"
# Far above a local answer's time even on a loaded machine, so a healthy request never times out
# (that would be a retry and a wrong attempt count); the fake's "hang" outlasts it.
PROVIDER_TIMEOUT_SECONDS = 3
HANG_SECONDS = PROVIDER_TIMEOUT_SECONDS + 2


def fake_provider_settings(postmark_url: str, templates: list[dict]) -> dict:
    """Settings that send through anymail's real Postmark backend (with our send_batch) to
    ``postmark_url``."""
    return {
        "EMAIL_PROVIDER": "postmark",
        "EMAIL_BACKEND": "tenant_apps.outbox.backends.PostmarkEmailBackend",
        "ANYMAIL": {
            "POSTMARK_SERVER_TOKEN": "test-token",
            "POSTMARK_API_URL": postmark_url,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REQUESTS_TIMEOUT": PROVIDER_TIMEOUT_SECONDS,
        },
        **rendering_settings(templates),
        # Three attempts, 0.1 s then 0.2 s apart (jittered): retry tests finish in a second.
        "OUTBOX_MAX_ATTEMPTS": 3,
        "OUTBOX_RETRY_BASE_SECONDS": 0.1,
        "OUTBOX_RETRY_MAX_SECONDS": 0.3,
    }


def rendering_settings(templates: list[dict]) -> dict:
    """What rendering and queueing an email reads: the test templates and the sender address."""
    first = {**templates[0], "DIRS": [*templates[0].get("DIRS", []), TEMPLATES_DIR]}
    return {"DEFAULT_FROM_EMAIL": FROM_EMAIL, "TEMPLATES": [first, *templates[1:]]}
