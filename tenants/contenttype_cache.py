"""Django's ContentType cache, kept per schema.

``ContentType.objects`` caches ``(app_label, model) -> ContentType`` and ``id -> ContentType`` per
process, keyed by database alias only. Here every schema has its own ``django_content_type`` table
(contenttypes is in SHARED_APPS and TENANT_APPS), and the ids differ: the public schema numbers its
tenancy models first, a tenant schema its own apps' models first, and a schema built by another path
(the pool's spare, the template image, migrations, an app added later) may number them otherwise
again. With one cache per alias, the first schema to ask fixes the ids every other schema then gets:
an admin LogEntry written in a tenant names another model, a generic relation resolves to the wrong
table, a permission looked up by natural key is not found (or is another one).

``install()`` (``TenantsConfig.ready``) gives the manager a cache keyed by ``(alias, schema)`` of the
thread's connection instead, so each schema reads its own rows. The schemas kept are bounded
(``MAX_SCHEMAS``, least recently used dropped first): a worker that serves every tenant in turn
keeps a few hundred small dicts, not one per tenant ever seen.
"""

import threading
from collections import OrderedDict

from django.db import connections

# A few hundred schemas' content types (some 30 rows each) are a few megabytes at most; a schema
# dropped from the cache costs one query to read back.
MAX_SCHEMAS = 256


class PerSchemaCache:
    """The mapping ContentTypeManager uses as ``_cache`` (``self._cache[alias]``,
    ``self._cache.setdefault(alias, {})``, ``self._cache.clear()``), answering for the schema the
    alias's connection is in on this thread."""

    def __init__(self, max_schemas: int = MAX_SCHEMAS):
        self.max_schemas = max_schemas
        self._caches: OrderedDict[tuple[str, str | None], dict] = OrderedDict()
        # Threads of one process share the manager; an eviction racing a lookup must not fail.
        self._lock = threading.Lock()

    @staticmethod
    def _key(using: str) -> tuple[str, str | None]:
        return using, getattr(connections[using], "schema_name", None)

    def __getitem__(self, using: str) -> dict:
        key = self._key(using)
        with self._lock:
            cache = self._caches[key]  # KeyError: the manager reads the row from the database
            self._caches.move_to_end(key)
            return cache

    def __contains__(self, using: str) -> bool:
        with self._lock:
            return self._key(using) in self._caches

    def get(self, using: str, default=None):
        try:
            return self[using]
        except KeyError:
            return default

    def setdefault(self, using: str, default: dict | None = None) -> dict:
        key = self._key(using)
        with self._lock:
            cache = self._caches.get(key)
            if cache is None:
                cache = self._caches[key] = {} if default is None else default
                while len(self._caches) > self.max_schemas:
                    self._caches.popitem(last=False)
            else:
                self._caches.move_to_end(key)
            return cache

    def clear(self) -> None:
        with self._lock:
            self._caches.clear()

    def __len__(self) -> int:
        return len(self._caches)


def install() -> None:
    """Give ContentType's manager (``objects``, also its default manager) the per-schema cache."""
    from django.contrib.contenttypes.models import ContentType

    if not isinstance(ContentType.objects._cache, PerSchemaCache):
        ContentType.objects._cache = PerSchemaCache()
