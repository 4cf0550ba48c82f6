"""A user's signed-in browsers: the rows behind the profile's list of sessions, and their revocation.

A row (accounts.UserSession) is written when a session signs a user in (``user_logged_in``) and
removed when it signs out (``user_logged_out``); the session engine
(tenant_apps/accounts/session_store.py) moves it to the new key when a key is rotated (sign-in,
password change) and notes when a session was last used. That note lives in the cache, stamped at
most every ``SEEN_EVERY_SECONDS``: a request that only reads writes no row (the row's
``last_seen_at`` is the sign-in or the last key rotation, the fallback when the cache forgot). Rows
and sessions live in the schema of the host that served the request, so one tenant's list never
holds another tenant's sessions.

Revoking deletes the session from the session store (its browser is signed out on its next
request) and the row. Every lookup is among ``user``'s own rows: another user's session answers
UserSession.DoesNotExist, the same as one that does not exist (the page's 404).
"""

import hashlib
import logging
import time
from datetime import UTC, datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.dispatch import receiver
from django.utils import timezone

from tenant_apps.accounts.models import UserSession
from tenants.request_guards import client_address

logger = logging.getLogger(__name__)

# How stale ``last_seen_at`` may be: one UPDATE per session per this many seconds, not per request.
SEEN_EVERY_SECONDS = 300
USER_AGENT_LENGTH = UserSession._meta.get_field("user_agent").max_length


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def _seen_cache_key(session_key: str) -> str:
    # The session key is a credential: the cache (and whoever reads Redis) gets a digest of it.
    return "usersession:seen:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def _signed_in_key(request, user) -> str | None:
    """The key of the session ``request`` signed ``user`` into, or None when the sign-in opened no
    session (an API token: the request's session, if any, is not the user's)."""
    session = getattr(request, "session", None)
    if session is None or session.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return None
    if session.session_key is None:
        # login() flushed another user's session: the new one has no key until it is saved.
        session.save()
    return session.session_key


@receiver(user_logged_in, dispatch_uid="accounts.user_sessions.record")
def record(sender, request, user, **kwargs):
    key = _signed_in_key(request, user) if request is not None else None
    if not key:
        return
    meta = request.META
    now = timezone.now()
    UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "created_at": now,
            "last_seen_at": now,
            "ip": client_address(request),
            # Printable characters only: a header is attacker-chosen text shown on a page.
            "user_agent": "".join(
                c for c in meta.get("HTTP_USER_AGENT", "")[: USER_AGENT_LENGTH * 2] if c.isprintable()
            )[:USER_AGENT_LENGTH],
        },
    )


@receiver(user_logged_out, dispatch_uid="accounts.user_sessions.forget")
def forget(sender, request, user, **kwargs):
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def touch(session_key: str) -> None:
    """A request used this signed-in session (called by the session engine on load): one cache
    read, and a write at most every SEEN_EVERY_SECONDS."""
    key = _seen_cache_key(session_key)
    now = time.time()
    try:
        last = cache.get(key)
        if last is None or now - last >= SEEN_EVERY_SECONDS:
            cache.set(key, now, timeout=settings.SESSION_COOKIE_AGE)
    except Exception:  # the cache is down: "last seen" is a hint, sessions must keep working
        logger.warning("user sessions: the cache did not answer; last seen not noted")


def rekey(old_key: str, new_key: str) -> None:
    """The session engine rotated a key (sign-in, password change): the row follows its session."""
    UserSession.objects.filter(session_key=old_key).update(session_key=new_key, last_seen_at=timezone.now())


def forget_ended() -> int:
    """Delete the rows whose session has ended without a sign-out (expired, cleared)."""
    deleted, _ = UserSession.objects.exclude(
        session_key__in=Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    ).delete()
    return deleted


def sessions_of(user):
    """``user``'s live sessions, the last used first (one query; rows of ended sessions left out)."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return UserSession.objects.filter(user=user, session_key__in=live).order_by("-last_seen_at")


def listed_sessions(user) -> list[UserSession]:
    """``user``'s live sessions for the profile, each ``last_seen_at`` brought up to date from the
    cache (one query, one cache read), the last used first."""
    rows = list(sessions_of(user))
    try:
        seen = cache.get_many([_seen_cache_key(row.session_key) for row in rows])
    except Exception:
        logger.warning("user sessions: the cache did not answer; last seen from the rows")
        seen = {}
    for row in rows:
        stamp = seen.get(_seen_cache_key(row.session_key))
        if stamp is not None:
            row.last_seen_at = max(row.last_seen_at, datetime.fromtimestamp(stamp, tz=UTC))
    return sorted(rows, key=lambda row: row.last_seen_at, reverse=True)


def get_session_for(user, public_id) -> UserSession:
    """``user``'s own session with this public id, or UserSession.DoesNotExist (also for another
    user's: the page answers both with the same 404)."""
    return sessions_of(user).get(public_id=public_id)


def revoke_session(user_session: UserSession) -> None:
    """End the session: its browser is signed out on its next request."""
    _store().delete(user_session.session_key)
    UserSession.objects.filter(pk=user_session.pk).delete()
    logger.info("%s revoked a session", user_session.user.email)


def end_other_sessions(user, keep_session_key: str | None) -> int:
    """End every session of ``user`` but ``keep_session_key`` (None: all of them). Returns how many."""
    rows = list(UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or ""))
    store = _store()
    for row in rows:
        store.delete(row.session_key)
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)
