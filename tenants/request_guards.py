"""What a request may carry, checked before anything reads it, and who sent it.

``RequestGuardMiddleware`` runs first, on every host: a control character in the path, the query
string or a header value is never legitimate, and left through it reaches PostgreSQL (which refuses
NUL in text with an error, so a 500), log lines and cache keys. Such a request answers 400 before
routing, sessions or authentication see it. Bodies are not checked here: forms and serializers
refuse NUL in their fields, and the API's JSON parser limits nesting (config/api/parsers.py).

``client_address`` is the client's IP address for lockouts and rate limits, read through the
reverse proxies named by ``TRUSTED_PROXY_COUNT``.
"""

import ipaddress
import logging
import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

logger = logging.getLogger(__name__)

# C0 controls and DEL. Header values may hold a tab (RFC 9110 allows HTAB); query values may hold
# tabs and line breaks (a GET form with a textarea); nothing else has a use for them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CONTROL_IN_QUERY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def hostile_part(request) -> str | None:
    """The part of the request holding a control character ("path", "query string", a header's
    name), or None for a clean request."""
    if _CONTROL.search(request.path_info):
        return "path"
    query = request.META.get("QUERY_STRING", "")
    if query and _CONTROL_IN_QUERY.search(unquote_plus(query, errors="replace")):
        return "query string"
    for key, value in request.META.items():
        if (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")) and isinstance(value, str):
            if _CONTROL_IN_HEADER.search(value):
                return key.removeprefix("HTTP_").replace("_", "-").title() + " header"
    return None


def is_api_path(path: str) -> bool:
    """A URL of either host's API (``/api/v1/...``, its schema and docs)."""
    return path == "/api" or path.startswith("/api/")


# A string (its closing quote optional, so an unterminated one is consumed once, never rescanned
# from every later quote) or a bracket. One pass, linear in the body's length.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` opens more than ``limit`` arrays or objects inside each other.
    Brackets inside strings do not count; malformed text is the decoder's to refuse."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        part = hostile_part(request)
        if part is None:
            return self.get_response(request)
        message = f"The request's {part} contains a control character."
        # The value itself is not logged: it is exactly what must not reach a log line.
        logger.info("refused a request: control character in its %s", part)
        if is_api_path(request.path_info):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _ip(value) -> str | None:
    """``value`` as a canonical IP address string, or None if it is not one."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if getattr(address, "scope_id", None):  # fe80::1%eth0: PostgreSQL's inet has no zone ids
        address = ipaddress.ip_address(str(address).split("%", 1)[0])
    return str(address)


def client_address(request) -> str | None:
    """The client's IP address (canonical form), or None when there is no valid one.

    Behind ``TRUSTED_PROXY_COUNT`` reverse proxies (Caddy in production), REMOTE_ADDR is the nearest
    proxy, shared by every client; the client is the entry the outermost proxy appended to
    X-Forwarded-For, counted from the right (entries further left are whatever the client sent, and
    cannot be trusted). When that entry is missing (the request did not pass every proxy) or is
    not an IP address (a misconfigured proxy), the peer address is the only fact left: lockouts and
    rate limits then count per proxy, which is stricter, never looser.
    """
    peer = _ip(request.META.get("REMOTE_ADDR"))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        forwarded = _ip(hops[-proxies]) if len(hops) >= proxies else None
        if forwarded is not None:
            return forwarded
        logger.info("no valid client address in X-Forwarded-For; using the peer address %s", peer)
    return peer
