"""Putting the database and the cache back after a test, so tests pass in any order.

Most tests run in a transaction that is rolled back. A transactional test (``transaction=True``, a
live server, a real worker) commits; Django's flush after it empties the public schema only, so
what it wrote in the tenant schemas, and any schema it created, would stay for the tests after
it. ``Baseline`` remembers every row key of the session tenants' schemas once they are
provisioned, and after such a test deletes the rows that were not there and drops new schemas.
Rows changed in place (a baseline user's last_login) stay changed; no test reads those.

The cache is Redis, shared by every process of the run (the worker too): between tests the
suite deletes its own keys, found by the run's key prefix, and never flushes a database.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

KEYS_SQL = """
    SELECT c.relname, a.attname
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
    WHERE i.indisprimary AND i.indnatts = 1 AND c.relkind = 'r' AND n.nspname = %s
"""
SYSTEM_SCHEMAS = "nspname <> 'information_schema' AND nspname !~ '^pg_'"


def quoted(*names: str) -> str:
    return ".".join(connection.ops.quote_name(name) for name in names)


def schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nspname FROM pg_namespace WHERE {SYSTEM_SCHEMAS}")
        return {row[0] for row in cursor.fetchall()}


class Baseline:
    """The keys of every row of some schemas, and the set of schemas, at one moment."""

    def __init__(self, tenant_schemas):
        self.schemas = schemas()
        self.rows: dict[str, dict[str, tuple[str, list[str]]]] = {}
        with connection.cursor() as cursor:
            for schema in tenant_schemas:
                cursor.execute(KEYS_SQL, [schema])
                tables = {}
                for table, key in cursor.fetchall():
                    cursor.execute(f"SELECT {quoted(key)}::text FROM {quoted(schema, table)}")
                    tables[table] = (key, [row[0] for row in cursor.fetchall()])
                self.rows[schema] = tables

    def restore(self) -> None:
        """Delete rows made since, in the remembered schemas; drop schemas made since."""
        with transaction.atomic(), connection.cursor() as cursor:
            # Django's foreign keys are deferrable: rows go in any order, checked at commit.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for schema, tables in self.rows.items():
                for table, (key, kept) in tables.items():
                    condition = f"NOT ({quoted(key)}::text = ANY(%s))"
                    cursor.execute(f"DELETE FROM {quoted(schema, table)} WHERE {condition}", [kept])
            for schema in sorted(schemas() - self.schemas):
                cursor.execute(f"DROP SCHEMA {quoted(schema)} CASCADE")


def delete_suite_cache_keys() -> None:
    """Delete every cache key of this run (its KEY_PREFIX), in the cache's Redis database only."""
    client = cache._cache.get_client(write=True)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    batch = []
    # The cache's KEY_FUNCTION (django-tenants' make_key) puts the schema before the prefix.
    for key in client.scan_iter(match=f"*:{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) == 500:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)
