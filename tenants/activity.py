"""Which tenants are busiest: requests and emails per tenant, counted in Redis, for the global admin.

Metrics carry no tenant label (tenants.metrics), so "who is sending all this traffic" is answered
here instead. Each web process adds up its tenant-host requests in memory and, at most every
TENANT_ACTIVITY_FLUSH_SECONDS, adds them to Redis sorted sets (``ZINCRBY``, one pipeline for the
whole batch): no database write and no Redis round trip per request. Workers count the emails
they send and fail the same way (``count(EMAILS_SENT, schema)``), flushed at once: a worker may sit
idle for hours after its last message, and one pipeline beside a provider's HTTP call costs
nothing. Reading the busiest tenants never reads a tenant's schema, so it costs the same at
10,000 tenants as at 10. The sets are time buckets
that expire on their own: 5-minute buckets answer "the last hour" (the current bucket and the 11
before it), hourly buckets "the last 24 hours"; a panel is one ``ZUNIONSTORE`` + ``ZREVRANGE`` in
a single transaction, whatever the number of tenants. Counts are of schemas (stable across a
tenant's rename), a process's unflushed counts are lost if it is killed, and a window's edge is
its oldest bucket's start: good enough to see who is busy, not a bill.

A Redis failure never fails a request: the batch is dropped, with a log line.
"""

import atexit
import functools
import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    bucket_seconds: int
    buckets: int


WINDOWS = {"hour": Window(300, 12), "day": Window(3600, 24)}

# What is counted: requests to a tenant's hosts, and its emails as the provider accepted or the
# outbox gave up on them.
REQUESTS = "requests"
EMAILS_SENT = "emails_sent"
EMAILS_FAILED = "emails_failed"
KINDS = (REQUESTS, EMAILS_SENT, EMAILS_FAILED)

_pending: Counter = Counter()
_lock = threading.Lock()
_last_flush = time.monotonic()


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def client() -> redis.Redis:
    return _client(settings.CACHE_URL)


def _prefix() -> str:
    # The cache's key prefix keeps two setups sharing a Redis database apart (and lets the test
    # suite find its own keys).
    return f"activity:{settings.CACHES['default'].get('KEY_PREFIX', '')}"


def _key(kind: str, window: Window, bucket: int) -> str:
    return f"{_prefix()}:{kind}:{window.bucket_seconds}:{bucket}"


def count(kind: str, schema: str, *, at_once: bool = False, amount: int = 1) -> None:
    """Count ``amount`` of ``kind`` (REQUESTS, EMAILS_SENT, EMAILS_FAILED) for the tenant of
    ``schema``; flushed with the others when due, or now with ``at_once``."""
    global _last_flush
    with _lock:
        _pending[kind, schema] += amount
        due = at_once or time.monotonic() - _last_flush >= settings.TENANT_ACTIVITY_FLUSH_SECONDS
        if due:
            _last_flush = time.monotonic()
    if due:
        flush()


def count_request(schema: str) -> None:
    """Count one request to the tenant of ``schema``; flushed with the others when due."""
    count(REQUESTS, schema)


def flush(now: float | None = None) -> None:
    """Add this process's pending counts to the current buckets of every window."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return
    now = time.time() if now is None else now
    try:
        pipe = client().pipeline(transaction=False)
        for window in WINDOWS.values():
            bucket = int(now // window.bucket_seconds)
            for kind in {kind for kind, _schema in batch}:
                key = _key(kind, window, bucket)
                for (counted, schema), n in batch.items():
                    if counted == kind:
                        pipe.zincrby(key, n, schema)
                # Kept until the last window that includes it has moved past it.
                pipe.expire(key, window.bucket_seconds * (window.buckets + 1))
        pipe.execute()
    except redis.RedisError:
        logger.warning("tenant activity: %d counts dropped, Redis failed", sum(batch.values()))


atexit.register(flush)


def top_tenants_by_requests(window: str = "hour", limit: int = 10, now: float | None = None):
    """``[(schema, requests)]``, busiest first, over the window ("hour" or "day")."""
    return top_tenants(REQUESTS, window, limit, now)


def top_tenants(kind: str, window: str = "hour", limit: int = 10, now: float | None = None):
    """``[(schema, count)]`` of ``kind``, busiest first, over the window ("hour" or "day"): one
    Redis transaction. Raises redis.RedisError when Redis is down (the page says so)."""
    spec = WINDOWS[window]
    now = time.time() if now is None else now
    current = int(now // spec.bucket_seconds)
    keys = [_key(kind, spec, bucket) for bucket in range(current - spec.buckets + 1, current + 1)]
    scratch = f"{_prefix()}:top:{uuid.uuid4().hex}"
    pipe = client().pipeline(transaction=True)
    pipe.zunionstore(scratch, keys)
    pipe.zrevrange(scratch, 0, limit - 1, withscores=True)
    pipe.delete(scratch)
    _stored, top, _deleted = pipe.execute()
    return [(schema.decode(), int(score)) for schema, score in top]
