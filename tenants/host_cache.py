"""The shared cache of host-to-tenant lookups: what an entry holds, under which key, and forgetting it.

tenants.routing reads and fills it; every change of a Tenant or Domain row forgets the hosts it
touches (tenants.models: saves, deletes, and queryset updates and bulk writes alike), now and again
after commit, so the next request sees the change.

An entry holds plain values, never a pickled model instance: a dict of the few Tenant fields that
routing and ``request.tenant`` use, or a marker for a host that serves no tenant. A pickled instance
would outlive a deploy that changes the model. The key is a hash of the host, so its size does not
depend on what a client sends, and it names the entry format's version: after a deploy that changes
the format, old entries are never read, they expire.

The cache's KEY_FUNCTION (django-tenants' ``make_key``) puts the current schema in every key; these
entries always live under the public schema's keys, whatever schema the caller is in.

If the cache is down, lookups fall back to the database and forgetting logs a warning (the entry
then expires after TENANT_CACHE_SECONDS): a cache outage must not take the platform down.

**The process's own copy.** In front of Redis, each process keeps the entries it read in a small
LRU (at most LOCAL_MAX_HOSTS hosts), so a warm host costs no network call at all. Every ``forget``
bumps a version number in Redis; a process reads that number at most once every
TENANT_HOST_LOCAL_SECONDS and empties its copy when the number moved. A change made in this
process is seen by its next request (``forget`` drops the hosts from its own copy too); in other
processes within TENANT_HOST_LOCAL_SECONDS (2 s by default). 0 turns the copy off (the test suite,
whose workers change tenants in other processes, and whose tests read the change at once).
"""

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

logger = logging.getLogger(__name__)

KEY_FORMAT = 4  # 3: entries carry the tenant's canonical host; 4: and its migration hold
MISS = object()
_NO_TENANT = "no-tenant"
# Short: a host that gets a domain is forgotten at once anyway; this only bounds the entries a
# flood of random subdomains leaves behind.
_NO_TENANT_SECONDS = 60


# Enough for every tenant host one process sees in a busy hour; past it the least recently used
# host is dropped (a flood of odd hosts cannot grow the process without bound).
LOCAL_MAX_HOSTS = 10_000
VERSION_KEY = f"tenant-host:v{KEY_FORMAT}:version"


def key(hostname: str) -> str:
    return f"tenant-host:v{KEY_FORMAT}:{hashlib.sha256(hostname.encode()).hexdigest()}"


class _LocalCopy:
    """The process's LRU of entries (see the module's docstring), shared by its threads."""

    def __init__(self):
        self._entries: OrderedDict[str, tuple[object, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._version = None
        self._checked_at = float("-inf")

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._checked_at = float("-inf")

    def _check_version(self, now: float, seconds: float) -> None:
        if now - self._checked_at < seconds:
            return
        try:
            with _public_keys():
                version = cache.get(VERSION_KEY)
        except Exception:
            # Nothing can say whether the copy is still right: drop it, and let read() fall back.
            logger.warning("tenant cache unavailable; the process's copy is dropped", exc_info=True)
            version = object()
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._checked_at = now

    def get(self, hostname: str):
        seconds = settings.TENANT_HOST_LOCAL_SECONDS
        if seconds <= 0:
            return MISS
        now = time.monotonic()
        self._check_version(now, seconds)
        with self._lock:
            entry = self._entries.get(hostname)
            if entry is None:
                return MISS
            value, stored_at = entry
            lifetime = _NO_TENANT_SECONDS if value == _NO_TENANT else settings.TENANT_CACHE_SECONDS
            if now - stored_at > lifetime:
                del self._entries[hostname]
                return MISS
            self._entries.move_to_end(hostname)
            return value

    def put(self, hostname: str, value) -> None:
        if settings.TENANT_HOST_LOCAL_SECONDS <= 0:
            return
        with self._lock:
            self._entries[hostname] = (value, time.monotonic())
            self._entries.move_to_end(hostname)
            while len(self._entries) > LOCAL_MAX_HOSTS:
                self._entries.popitem(last=False)

    def drop(self, hostnames: Iterable[str]) -> None:
        with self._lock:
            for hostname in hostnames:
                self._entries.pop(hostname, None)


local_copy = _LocalCopy()


@contextmanager
def _public_keys() -> Iterator[None]:
    if connection.schema_name == get_public_schema_name():
        yield  # the request path: no schema switch, which would cost a SET search_path
    else:
        with schema_context(get_public_schema_name()):
            yield


def read(hostname: str):
    """The cached values of ``hostname``'s tenant (a dict), None for a host known to serve no
    tenant, or MISS."""
    value = local_copy.get(hostname)
    if value is MISS:
        try:
            with _public_keys():
                value = cache.get(key(hostname), MISS)
        except Exception:
            logger.warning("tenant cache unavailable; looking %s up in the database", hostname, exc_info=True)
            return MISS
        if value is not MISS:
            local_copy.put(hostname, value)
    return None if value == _NO_TENANT else value


def remember(hostname: str, values: dict | None) -> None:
    """Cache ``values`` (plain data: the dict ``read`` returns) or, with None, that no tenant is there."""
    local_copy.put(hostname, _NO_TENANT if values is None else values)
    try:
        with _public_keys():
            if values is None:
                cache.set(key(hostname), _NO_TENANT, _NO_TENANT_SECONDS)
            else:
                cache.set(key(hostname), values, settings.TENANT_CACHE_SECONDS)
    except Exception:
        logger.warning("tenant cache unavailable; %s not cached", hostname, exc_info=True)


def forget(hostnames: Iterable[str | None]) -> None:
    """Drop cached lookups now and again after commit: deleting only now would let a request that
    reads the old row before our commit put the stale value back."""
    hostnames = {h for h in hostnames if h}
    keys = [key(h) for h in hostnames]
    if not keys:
        return

    def delete():
        local_copy.drop(hostnames)
        try:
            with _public_keys():
                cache.delete_many(keys)
                # Other processes' copies: emptied at their next version check.
                cache.add(VERSION_KEY, 0, timeout=None)
                cache.incr(VERSION_KEY)
        except Exception:
            logger.warning("tenant cache unavailable; entries expire on their own", exc_info=True)

    delete()
    transaction.on_commit(delete)
