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
"""

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context

logger = logging.getLogger(__name__)

KEY_FORMAT = 3  # 3: entries carry the tenant's canonical host
MISS = object()
_NO_TENANT = "no-tenant"
# Short: a host that gets a domain is forgotten at once anyway; this only bounds the entries a
# flood of random subdomains leaves behind.
_NO_TENANT_SECONDS = 60


def key(hostname: str) -> str:
    return f"tenant-host:v{KEY_FORMAT}:{hashlib.sha256(hostname.encode()).hexdigest()}"


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
    try:
        with _public_keys():
            value = cache.get(key(hostname), MISS)
    except Exception:
        logger.warning("tenant cache unavailable; looking %s up in the database", hostname, exc_info=True)
        return MISS
    return None if value == _NO_TENANT else value


def remember(hostname: str, values: dict | None) -> None:
    """Cache ``values`` (plain data: the dict ``read`` returns) or, with None, that no tenant is there."""
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
    keys = [key(h) for h in set(hostnames) if h]
    if not keys:
        return

    def delete():
        try:
            with _public_keys():
                cache.delete_many(keys)
        except Exception:
            logger.warning("tenant cache unavailable; entries expire on their own", exc_info=True)

    delete()
    transaction.on_commit(delete)
