"""Readiness: may this process be sent traffic? (README, "Health and readiness").

``/-/health/`` is liveness: the process answers. ``/-/ready/`` (``readiness()``) checks what a
request and the tasks it enqueues need, each within a bound, so a probe answers quickly even
when a dependency hangs:

- ``database``: ``SELECT 1`` on the default connection.
- ``redis``: one round trip (PING and the heartbeat read, pipelined) to the broker's Redis, and a
  PING to the cache's Redis when that is another server or database, with a socket timeout of
  ``READY_REDIS_TIMEOUT_MS``.
- ``worker``: each queue of ``READY_WORKER_QUEUES`` has a consumer that wrote its heartbeat within
  ``READY_WORKER_MAX_AGE_SECONDS``. Every worker's consumer sets one Redis key per queue it
  consumes every ``WORKER_HEARTBEAT_SECONDS`` (``record_heartbeat``, called by
  config/worker_heartbeat.py) with that age as its expiry: the probe reads a key per queue instead
  of broadcasting ``inspect ping`` and waiting for answers, and the age comes from Redis's own
  clock (the key's remaining TTL), so clocks of web and worker hosts need not agree.
- ``migrations``: every leaf of the migration graph on disk is recorded in the public schema's
  ``django_migrations``. Tenant schemas that lag belong to the tenant migration runner, not to
  readiness: a release migrates public first, then the tenants. The graph is read from disk once
  per process; the table, at most every ``READY_MIGRATIONS_CACHE_SECONDS``.

Reasons are short and carry nothing secret (an exception's class, never its message, which may
name a host or a user); the details go to the log.
"""

import functools
import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_public_schema_name
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)


def _redis_url(url: str) -> str:
    # Kombu's name for a unix socket (settings.celery_url) is not redis-py's.
    return url.replace("redis+socket://", "unix://", 1)


@functools.lru_cache(maxsize=8)
def _client(url: str, timeout_ms: int) -> redis.Redis:
    """One client (and connection pool) per URL and process. No retries: a probe answers within
    the timeout, and the next probe is the retry."""
    seconds = timeout_ms / 1000
    return redis.Redis.from_url(
        _redis_url(url),
        socket_connect_timeout=seconds,
        socket_timeout=seconds,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )


def broker_client() -> redis.Redis:
    return _client(settings.CELERY_BROKER_URL, settings.READY_REDIS_TIMEOUT_MS)


def heartbeat_key(queue: str) -> str:
    return f"{settings.WORKER_HEARTBEAT_KEY}:{queue}"


def record_heartbeat(worker_name: str, queues: list[str]) -> None:
    """Say that ``worker_name`` is alive and consuming ``queues``: each key lives
    READY_WORKER_MAX_AGE_SECONDS."""
    pipe = broker_client().pipeline(transaction=False)
    for queue in queues:
        pipe.set(heartbeat_key(queue), worker_name, ex=settings.READY_WORKER_MAX_AGE_SECONDS)
    pipe.execute()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _failure(started: float, reason: str) -> dict:
    return {"ok": False, "ms": _ms(started), "reason": reason}


def check_database() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("ready: database check failed: %r", error)
        return _failure(started, f"unreachable ({type(error).__name__})")
    return {"ok": True, "ms": _ms(started)}


def check_redis_and_worker() -> tuple[dict, dict]:
    """The ``redis`` and ``worker`` checks: the heartbeat is read in the PING's round trip."""
    started = time.perf_counter()
    max_age = settings.READY_WORKER_MAX_AGE_SECONDS
    try:
        queues = list(settings.READY_WORKER_QUEUES)
        pipe = broker_client().pipeline(transaction=False)
        pipe.ping()
        for queue in queues:
            pipe.pttl(heartbeat_key(queue))
        ttls_ms = pipe.execute()[1:]
        cache_url = settings.CACHES["default"]["LOCATION"]
        if _redis_url(cache_url) != _redis_url(settings.CELERY_BROKER_URL):
            _client(cache_url, settings.READY_REDIS_TIMEOUT_MS).ping()
    except Exception as error:
        logger.warning("ready: redis check failed: %r", error)
        reason = f"unreachable ({type(error).__name__})"
        return _failure(started, reason), {"ok": False, "reason": "not checked: Redis is unreachable"}
    redis_check = {"ok": True, "ms": _ms(started)}
    # PTTL is -2 for a missing key (no heartbeat within its expiry), -1 for one without expiry.
    silent = [queue for queue, ttl_ms in zip(queues, ttls_ms, strict=True) if ttl_ms < 0]
    if silent:
        reason = f"no worker heartbeat in the last {max_age} s for: {', '.join(silent)}"
        return redis_check, {"ok": False, "reason": reason}
    oldest = max((max_age - ttl_ms / 1000 for ttl_ms in ttls_ms), default=0.0)
    return redis_check, {"ok": True, "age_seconds": round(max(0.0, oldest), 1)}


@functools.cache
def migration_leaves() -> tuple[tuple[str, str, tuple], ...]:
    """(app, name, replaced) of each leaf of the graph on disk; ``replaced`` are the migrations a
    squashed leaf replaces (recorded instead of it when they were applied one by one)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return tuple(
        (app, name, tuple(loader.disk_migrations[app, name].replaces or ()))
        for app, name in sorted(loader.graph.leaf_nodes())
    )


def unapplied_leaves() -> list[str]:
    """``app.name`` of each leaf migration the public schema has not recorded (one query)."""
    leaves = migration_leaves()
    table = f"{connection.ops.quote_name(get_public_schema_name())}.django_migrations"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT app, name FROM {table} WHERE app = ANY(%s)", [sorted({a for a, _, _ in leaves})]
        )
        applied = set(cursor.fetchall())
    return [
        f"{app}.{name}"
        for app, name, replaced in leaves
        if (app, name) not in applied and not (replaced and all(tuple(r) in applied for r in replaced))
    ]


_migrations_memo: dict = {}


def check_migrations() -> dict:
    started = time.perf_counter()
    now = time.monotonic()
    if _migrations_memo.get("until", 0) > now:
        unapplied = _migrations_memo["unapplied"]
    else:
        try:
            unapplied = unapplied_leaves()
        except Exception as error:
            logger.warning("ready: migrations check failed: %r", error)
            return _failure(started, f"not checked ({type(error).__name__})")
        _migrations_memo.update(until=now + settings.READY_MIGRATIONS_CACHE_SECONDS, unapplied=unapplied)
    if unapplied:
        # App labels only: migration names would tell anyone who asks which release this is.
        apps = sorted({name.split(".")[0] for name in unapplied})
        logger.warning("ready: migrations not applied in the public schema: %s", ", ".join(unapplied))
        return _failure(started, f"migrations not applied in the public schema for: {', '.join(apps)}")
    return {"ok": True, "ms": _ms(started)}


def readiness() -> dict:
    """``{"status": "ok"|"fail", "checks": {name: {"ok": bool, ...}}}``; ok when every check is."""
    database = check_database()
    redis_check, worker = check_redis_and_worker()
    checks = {
        "database": database,
        "redis": redis_check,
        "worker": worker,
        # Without a database there is no table to read: say so, and spare the query's timeout.
        "migrations": check_migrations()
        if database["ok"]
        else {"ok": False, "reason": "not checked: no database"},
    }
    return {"status": "ok" if all(check["ok"] for check in checks.values()) else "fail", "checks": checks}
