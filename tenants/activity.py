"""Which tenants are busiest: requests per tenant, counted in Redis, for the global admin.

Metrics carry no tenant label (tenants.metrics), so "who is sending all this traffic" is answered
here instead. Each web process adds up its tenant-host requests in memory and, at most every
TENANT_ACTIVITY_FLUSH_SECONDS, adds them to Redis sorted sets (``ZINCRBY``, one pipeline for the
whole batch): no database write and no Redis round trip per request. The sets are time buckets
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


def _key(window: Window, bucket: int) -> str:
    return f"{_prefix()}:requests:{window.bucket_seconds}:{bucket}"


def count_request(schema: str) -> None:
    """Count one request to the tenant of ``schema``; flushed with the others when due."""
    global _last_flush
    with _lock:
        _pending[schema] += 1
        due = time.monotonic() - _last_flush >= settings.TENANT_ACTIVITY_FLUSH_SECONDS
        if due:
            _last_flush = time.monotonic()
    if due:
        flush()


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
            key = _key(window, int(now // window.bucket_seconds))
            for schema, n in batch.items():
                pipe.zincrby(key, n, schema)
            # Kept until the last window that includes it has moved past it.
            pipe.expire(key, window.bucket_seconds * (window.buckets + 1))
        pipe.execute()
    except redis.RedisError:
        logger.warning("tenant activity: %d request counts dropped, Redis failed", sum(batch.values()))


atexit.register(flush)


def top_tenants_by_requests(window: str = "hour", limit: int = 10, now: float | None = None):
    """``[(schema, requests)]``, busiest first, over the window ("hour" or "day"): one Redis
    transaction. Raises redis.RedisError when Redis is down (the page says so)."""
    spec = WINDOWS[window]
    now = time.time() if now is None else now
    current = int(now // spec.bucket_seconds)
    keys = [_key(spec, bucket) for bucket in range(current - spec.buckets + 1, current + 1)]
    scratch = f"{_prefix()}:top:{uuid.uuid4().hex}"
    pipe = client().pipeline(transaction=True)
    pipe.zunionstore(scratch, keys)
    pipe.zrevrange(scratch, 0, limit - 1, withscores=True)
    pipe.delete(scratch)
    _stored, top, _deleted = pipe.execute()
    return [(schema.decode(), int(score)) for schema, score in top]
