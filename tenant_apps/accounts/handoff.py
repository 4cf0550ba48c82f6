"""One-time login hand-off: sign a user in on their tenant's host from another host.

Signup runs on the root domain and a rename moves a tenant to a new host; in both cases the user
must land signed in on a host whose session cookie the current response cannot set (cookies are
host-only, settings.SESSION_COOKIE_DOMAIN). The first host mints a hand-off URL on the tenant's
primary host; the browser follows it and the tenant's own view opens a session there.

The token is random (``secrets.token_urlsafe``), single use and short-lived
(``LOGIN_HANDOFF_SECONDS``). Only its SHA-256 digest is stored, in the cache, whose key function
(django_tenants.cache.make_key) prefixes every key with the current schema: a token minted for
acme is simply not found on globex's host. Consuming it reads the entry and deletes it; Redis'
DEL reports whether this caller removed the key, so of two concurrent uses exactly one succeeds.

The cache rather than a table: the entry lives for a minute, needs no migration in every tenant
schema, expires by itself, and a cache outage only costs a manual sign-in (the hand-off then says
the link is not valid, with a link to the sign-in page).
"""

import hashlib
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django_tenants.utils import get_public_schema_name

# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours, and is refused
# before it is hashed or looked up.
MAX_TOKEN_LENGTH = 64


def _cache_key(token: str) -> str:
    return "accounts:handoff:" + hashlib.sha256(token.encode()).hexdigest()


def _safe_next(next_path: str) -> str:
    """``next_path`` if it is a path on the same host ("/projects/"), else "/": never another host,
    a scheme-relative "//evil.example" or a backslash trick."""
    if (
        isinstance(next_path, str)
        and next_path.startswith("/")
        and not next_path.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(next_path, allowed_hosts=set(), require_https=False)
    ):
        return next_path
    return "/"


def issue_login_handoff(user, next_path: str = "/") -> str:
    """The absolute URL, on the current tenant's primary host, that signs ``user`` in once.

    Call it in the tenant's schema (``tenant_context``): the token is stored for that schema only.
    ``next_path`` is where the user lands afterwards, kept only if it is a relative path on the
    same host. The URL is a secret: hand it to the user's browser (a redirect), never log it.
    """
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == get_public_schema_name():
        raise RuntimeError("issue_login_handoff runs in a tenant's schema (tenant_context).")
    token = secrets.token_urlsafe(32)
    cache.set(
        _cache_key(token),
        {
            "user": user.pk,
            "schema": connection.schema_name,
            # A password change between issue and use voids the hand-off, as it voids sessions.
            "auth_hash": user.get_session_auth_hash(),
            "next": _safe_next(next_path),
            "issued_at": time.time(),
        },
        timeout=settings.LOGIN_HANDOFF_SECONDS,
    )
    path = reverse("accounts:handoff", urlconf="config.urls_tenant", kwargs={"token": token})
    return tenant.url(path)


@dataclass(frozen=True)
class Handoff:
    user: object
    next_path: str


class HandoffInvalid(Exception):
    """The token is unknown, used, expired, tampered with, or of another tenant."""


class HandoffUserInactive(Exception):
    """The token was good but its user is deactivated."""


def consume_login_handoff(token: str) -> Handoff:
    """Use a hand-off token in the current schema: at most once, within LOGIN_HANDOFF_SECONDS.

    Returns the user and where to send them; raises HandoffInvalid or HandoffUserInactive.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise HandoffInvalid
    key = _cache_key(token)
    entry = cache.get(key)
    # Only the caller whose DEL removed the key may use it: two concurrent uses read the same
    # entry, and one of them finds the key already gone.
    if entry is None or not cache.delete(key):
        raise HandoffInvalid
    if entry.get("schema") != connection.schema_name:
        raise HandoffInvalid
    # Checked here too, not only by the cache's timeout: the setting read now is the one in force.
    if time.time() - entry["issued_at"] > settings.LOGIN_HANDOFF_SECONDS:
        raise HandoffInvalid
    user = get_user_model()._default_manager.filter(pk=entry["user"]).first()
    if user is None or not constant_time_compare(user.get_session_auth_hash(), entry["auth_hash"]):
        raise HandoffInvalid
    if not user.is_active:
        raise HandoffUserInactive
    return Handoff(user=user, next_path=_safe_next(entry["next"]))
