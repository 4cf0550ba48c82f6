"""Hosts a tenant was renamed away from: which tenant host an old host now points to, cached.

The middleware asks only when a host serves no tenant (tenant_for_host found none), so a tenant's
own host never pays for it. An answer is cached in Redis like the host cache's (plain values,
a hashed key, public-schema keys): the tenant's current primary host, or a marker for "no
redirect". A cached redirect never outlives its ``expires_at``, and the lifecycle service forgets
the entries of every host it changes (tenants.lifecycle), now and after commit.

The cached value is the host to go to, not the tenant: the middleware then resolves that host
through the host cache, so a tenant renamed twice, suspended or deleted answers as it is now.
"""

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import HostRedirect

logger = logging.getLogger(__name__)

KEY_FORMAT = 1
_NONE = "no-redirect"
# Short, like the host cache's "no tenant" entries: it only bounds what a flood of random
# subdomains leaves behind; a rename forgets the entry at once anyway.
_NONE_SECONDS = 60


def key(hostname: str) -> str:
    return f"tenant-redirect:v{KEY_FORMAT}:{hashlib.sha256(hostname.encode()).hexdigest()}"


@contextmanager
def _public_keys() -> Iterator[None]:
    # The cache's KEY_FUNCTION puts the current schema in every key: these live under public's.
    if connection.schema_name == get_public_schema_name():
        yield
    else:
        with schema_context(get_public_schema_name()):
            yield


def target_host(hostname: str, now: datetime | None = None) -> str | None:
    """The primary host that ``hostname`` redirects to (an unexpired HostRedirect), or None."""
    now = now or timezone.now()
    try:
        with _public_keys():
            cached = cache.get(key(hostname))
    except Exception:
        logger.warning("tenant cache unavailable; looking redirect %s up in the database", hostname)
        cached = None
    if cached == _NONE:
        return None
    if cached is not None and cached["expires_at"] > now.timestamp():
        return cached["host"]
    row = (
        HostRedirect.objects.filter(hostname=hostname, expires_at__gt=now)
        .values_list("tenant__slug", "expires_at")
        .first()
    )
    host = f"{row[0]}.{settings.BASE_DOMAIN}" if row else None
    try:
        with _public_keys():
            if row is None:
                cache.set(key(hostname), _NONE, _NONE_SECONDS)
            else:
                seconds = min(settings.TENANT_CACHE_SECONDS, (row[1] - now).total_seconds())
                value = {"host": host, "expires_at": row[1].timestamp()}
                cache.set(key(hostname), value, max(1, int(seconds)))
    except Exception:
        logger.warning("tenant cache unavailable; redirect %s not cached", hostname)
    return host


def forget(hostnames: Iterable[str | None]) -> None:
    """Drop cached redirect answers now and again after commit (see tenants.host_cache.forget)."""
    keys = [key(h) for h in set(hostnames) if h]
    if not keys:
        return

    def delete():
        try:
            with _public_keys():
                cache.delete_many(keys)
        except Exception:
            logger.warning("tenant cache unavailable; redirect entries expire on their own")

    delete()
    transaction.on_commit(delete)
