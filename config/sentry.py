"""Optional error reporting to Sentry (``SENTRY_DSN``): web requests and Celery tasks.

sentry-sdk's Django and Celery integrations capture the errors; this module adds what they do not:

- **Tags**: ``tenant``, the schema the request or task ran in (``public`` on the root domain), and
  ``request_id``: the one the structured logs carry (structlog's context, when the logging
  middleware bound one), else the request's ``X-Request-ID`` header.
- **Nothing secret** (STYLE.md: secrets are shown to their recipient only): no personal data
  (sentry-sdk's default with ``send_default_pii`` unset: no cookies, no user, no client address;
  Authorization and Cookie headers are dropped). ``before_send`` replaces with ``[Filtered]``
  every value whose key looks secret (password, token, secret, link, key, auth, cookie, session,
  csrf, signature, credential) in the request's data, headers and query string, in every frame's
  local variables, in extras, contexts and breadcrumbs; and, in any text of the event (URLs,
  messages, the reprs of local variables), one-time links (a password reset, an invitation, a
  login hand-off) and the values of secret-looking query parameters. sentry-sdk's own
  EventScrubber runs too, recursively, with our words added to its list.
"""

import re
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

FILTERED = "[Filtered]"

# A key whose value is a credential or a way to one (substring match, any case).
SECRET_KEY = re.compile(
    r"pass|secret|token|link|key|auth|cookie|session|csrf|signature|credential|dsn", re.IGNORECASE
)
# One-time links: the path segments after these hold a secret (tenant_apps/accounts urls).
SECRET_LINK = re.compile(r"(/accounts/(?:reset|invitations|handoff)/)[^\s\"'<>?#]+")
# A query parameter with a secret-looking name, in any text (a request's repr in a frame's locals
# is "<WSGIRequest: GET '/path/?token=...'>").
SECRET_PARAM = re.compile(
    rf"([?&][^=&\s'\"]*(?:{SECRET_KEY.pattern})[^=&\s'\"]*=)[^&\s'\"#<>]+", re.IGNORECASE
)
REQUEST_ID_HEADER = "X-Request-Id"


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float = 0.0, **options) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(transaction_style="url"), CeleryIntegration()],
        # Unset, sentry-sdk sends no personal data: no user, no cookies, no client address, and
        # sensitive headers filtered (passing send_default_pii=False is deprecated since 2.7x).
        traces_sample_rate=traces_sample_rate,
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, "link", "reset_link", "set_password_link", "dsn"], recursive=True
        ),
        before_send=before_send,
        before_breadcrumb=lambda crumb, hint: _scrub_any(crumb),
        **options,
    )


def before_send(event: dict, hint: dict) -> dict:
    """Tag the event with the tenant and the request id, then take every secret out of it."""
    tags = event.setdefault("tags", {})
    tags.setdefault("tenant", current_schema())
    request_id = _bound_request_id() or _header(event, REQUEST_ID_HEADER)
    if request_id:
        tags.setdefault("request_id", str(request_id)[:200])
    return scrub_event(event)


def current_schema() -> str:
    from django.db import connection

    return getattr(connection, "schema_name", None) or "public"


def _bound_request_id() -> str | None:
    """The request id of the structured logs' context (structlog's contextvars), if bound."""
    try:
        from structlog.contextvars import get_contextvars
    except ImportError:
        return None
    return get_contextvars().get("request_id")


def _header(event: dict, name: str) -> str | None:
    headers = (event.get("request") or {}).get("headers") or {}
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def scrub_event(event: dict) -> dict:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        for part in ("data", "headers", "env"):
            if part in request:
                request[part] = _scrub_keys(request[part])
        query = request.get("query_string")
        if isinstance(query, str) and query:
            request["query_string"] = urlencode(
                [
                    (k, FILTERED if SECRET_KEY.search(k) else v)
                    for k, v in parse_qsl(query, keep_blank_values=True)
                ]
            )
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            if "vars" in frame:
                frame["vars"] = _scrub_keys(frame["vars"])
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            if "vars" in frame:
                frame["vars"] = _scrub_keys(frame["vars"])
    for part in ("extra", "contexts"):
        if part in event:
            event[part] = _scrub_keys(event[part])
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict):
        breadcrumbs["values"] = [_scrub_keys(crumb) for crumb in breadcrumbs.get("values") or []]
    return _scrub_any(event)


def _scrub_keys(value):
    """``value`` with every item under a secret-looking key filtered, at any depth."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SECRET_KEY.search(key) else _scrub_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub_keys(item) for item in value]
    return value


def _scrub_any(value):
    """``value`` with every one-time link in its strings cut after its fixed part, and every
    secret-looking query parameter's value filtered, at any depth."""
    if isinstance(value, str):
        value = SECRET_LINK.sub(lambda m: m.group(1) + FILTERED, value)
        return SECRET_PARAM.sub(lambda m: m.group(1) + FILTERED, value)
    if isinstance(value, dict):
        return {key: _scrub_any(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_any(item) for item in value]
    return value
