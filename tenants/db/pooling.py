"""Schema switching that is safe behind a transaction pooler (PgBouncer ``pool_mode=transaction``).

Why a mode of its own. django-tenants routes a query to a tenant with a session-level
``SET search_path``. Behind PgBouncer in transaction mode a client holds a server connection only
for one transaction; the next transaction may run on another server connection, and the one it
left is handed, search path and all, to the next client. PgBouncer 1.18 does not track
``search_path`` (PostgreSQL 15 does not even report it to the pooler), so a plain SET leaks one
tenant's schema into another client's queries. tests/tenants/test_pgbouncer.py shows the leak.
The skip of a SET that "the connection already has" (tenants/db/base.py) is wrong there too: the
client connection no longer is one server connection.

What this mode does instead. The path is set inside the transaction that uses it, with
``SET LOCAL`` (which ends with the transaction, so nothing stays on the server connection):

- a statement outside a transaction (autocommit) is sent as ``SET LOCAL search_path = ...;
  <statement>`` in one simple-protocol message, which PostgreSQL runs as one implicit transaction:
  the SET and the statement reach the same server connection, at no extra round trip;
- in a transaction (``atomic()``), the first statement carries the same prefix, and so does the
  first one after the tenant changed or a savepoint was rolled back (which undoes a SET LOCAL).

What was measured (psycopg 3.3, Django 5.2, PgBouncer 1.18, PostgreSQL 15), and why this one:

- Several statements in one message need client-side binding: psycopg's server-side binding uses
  the extended protocol, which refuses them ("cannot insert multiple commands into a prepared
  statement"). Django's default cursor binds client-side (``OPTIONS["server_side_binding"]`` unset),
  so the mode requires that and refuses ``server_side_binding=True``.
- ``ATOMIC_REQUESTS`` would put each request in a transaction, but not Celery tasks, management
  commands or a view marked ``non_atomic_requests``; a pooled connection must be safe for all of
  them, so the schema travels with each statement instead.
- A separate ``BEGIN; SET LOCAL`` per autocommit statement works too, at two more round trips.
- Server-side prepared statements must be off (PgBouncer 1.18 cannot follow them from one server
  connection to another): Django's default ``prepare_threshold`` is None, and client-side binding
  never prepares. Server-side cursors (``.iterator()``) use ``WITH HOLD`` cursors that outlive the
  transaction, so the mode turns ``DISABLE_SERVER_SIDE_CURSORS`` on. ``assume_role`` (a session
  ``SET ROLE``) would leak like the search path, so it is refused, and so is a statement that
  keeps session state (a session advisory lock, LISTEN, PREPARE, a temporary table, a session SET
  of the path or role): the pool refill and ``migrate_tenants`` take session advisory locks, so
  they run on a direct connection (README "Connection pooling").

Limits: a statement PostgreSQL refuses inside a transaction block (``VACUUM``, ``CREATE DATABASE``,
``... CONCURRENTLY``) is sent without the prefix and resolves names through the server's default
path; run such statements, and migrations, on a direct connection (the README's "Connection
pooling"). Statement mode is not supported at all: Django's ``atomic()`` needs transactions.
"""

import re

from django.core.exceptions import ImproperlyConfigured
from django.db import NotSupportedError
from django.db.backends.postgresql.base import Cursor as DjangoCursor
from django_tenants.utils import quote_schema_name
from psycopg import pq, sql

SESSION = "session"
TRANSACTION = "transaction"
POOL_MODES = (SESSION, TRANSACTION)

# Statements PostgreSQL runs only outside a transaction block: a prefix would make them fail.
_OUTSIDE_TRANSACTION_BLOCK = re.compile(
    r"\s*(VACUUM|(CREATE|DROP)\s+(DATABASE|TABLESPACE)|ALTER\s+SYSTEM|REINDEX\s+(SYSTEM|DATABASE)"
    r"|(CREATE\s+(UNIQUE\s+)?|DROP\s+)INDEX\s+CONCURRENTLY|REINDEX\b[^;]*\bCONCURRENTLY"
    r"|ALTER\s+TABLE\b[^;]*\bDETACH\s+PARTITION\b[^;]*\bCONCURRENTLY)",
    re.IGNORECASE,
)


def pool_mode_of(settings_dict: dict) -> str:
    """The alias's ``POOL_MODE`` ("session", the default, or "transaction"); ImproperlyConfigured
    for anything else, and for options that cannot work through a transaction pooler."""
    mode = settings_dict.get("POOL_MODE") or SESSION
    if mode not in POOL_MODES:
        raise ImproperlyConfigured(
            f"DATABASES POOL_MODE must be one of {', '.join(POOL_MODES)}, not {mode!r} "
            "(statement pooling cannot run Django's transactions)."
        )
    if mode == TRANSACTION:
        options = settings_dict.get("OPTIONS") or {}
        if options.get("server_side_binding"):
            raise ImproperlyConfigured(
                "POOL_MODE 'transaction' sends the search path with each statement, which needs "
                "client-side binding: remove OPTIONS['server_side_binding']."
            )
        if options.get("assume_role"):
            raise ImproperlyConfigured(
                "POOL_MODE 'transaction' cannot keep OPTIONS['assume_role']: a session SET ROLE "
                "stays on the server connection for the next client."
            )
        if options.get("prepare_threshold") is not None:
            raise ImproperlyConfigured(
                "POOL_MODE 'transaction' needs prepared statements off: remove "
                "OPTIONS['prepare_threshold'] (PgBouncer 1.18 cannot follow them)."
            )
    return mode


def set_local_search_path(search_paths: list[str]) -> str:
    return "SET LOCAL search_path = " + ",".join(quote_schema_name(s) for s in search_paths)


# Session state that a transaction pooler hands to the next client, or loses between transactions:
# refused in transaction mode, loudly, rather than leaking a lock or a path (README "Connection
# pooling": the processes that need them run on a direct connection).
_SESSION_STATE = re.compile(
    r"\bpg_(try_)?advisory_(un)?lock(_shared)?\s*\("
    r"|^\s*(LISTEN|UNLISTEN|PREPARE|CREATE\s+(TEMP|TEMPORARY)\b"
    r"|(SET|RESET)\s+(SESSION\s+)?(search_path|role|session\s+authorization)\b)",
    re.IGNORECASE,
)

# Transaction control reads no table; ROLLBACK TO SAVEPOINT must also run in a failed transaction,
# where a SET before it would fail first.
_TRANSACTION_CONTROL = re.compile(
    r"\s*(SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN|START\s+TRANSACTION|END|ABORT)\b", re.IGNORECASE
)


def _text(query) -> str | None:
    if isinstance(query, bytes):
        return query.decode(errors="replace")
    return query if isinstance(query, str) else None


def runs_outside_transaction_block(query) -> bool:
    text = _text(query)
    return text is not None and bool(_OUTSIDE_TRANSACTION_BLOCK.match(text))


def refuse_session_state(query) -> None:
    """NotSupportedError for a statement whose effect outlives its transaction (see above)."""
    text = _text(query)
    if text is not None and _SESSION_STATE.search(text):
        raise NotSupportedError(
            "POOL_MODE 'transaction' cannot run a statement that keeps session state (a session "
            "advisory lock, LISTEN, PREPARE, a temporary table, a session SET): the pooler gives "
            "the server connection to another client after this transaction. Use its transaction-"
            f"level form, or run this process on a direct connection: {text[:80]!r}"
        )


def is_transaction_control(query) -> bool:
    text = _text(query)
    return text is not None and bool(_TRANSACTION_CONTROL.match(text))


def _prefixed(prefix: str, query, params):
    # With parameters, psycopg reads % in the text as placeholders: a schema name's % is escaped.
    if params is not None:
        prefix = prefix.replace("%", "%%")
    prefix += "; "
    if isinstance(query, str):
        return prefix + query
    if isinstance(query, bytes):
        return prefix.encode() + query
    return sql.Composed([sql.SQL(prefix), query])


class TransactionPooledCursor(DjangoCursor):
    """Django's client-binding cursor that sends the wanted search path with the statement.

    ``DatabaseWrapper._cursor`` gives it ``tenant_database`` (the wrapper, which knows what the
    current server transaction already has) and ``tenant_search_paths`` (the path wanted when the
    cursor was opened, as django-tenants' SET applied at cursor opening). A cursor opened by
    anything else (the health check's ``SELECT 1``) has neither and runs unchanged."""

    tenant_database = None
    tenant_search_paths = None

    def _search_path_statement(self, query) -> str | None:
        if self.tenant_database is None:
            return None
        refuse_session_state(query)
        return self.tenant_database.search_path_statement_for(self.tenant_search_paths, query)

    def execute(self, query, params=None, **kwargs):
        statement = self._search_path_statement(query)
        if statement is None:
            return super().execute(query, params, **kwargs)
        super().execute(_prefixed(statement, query, params), params, **kwargs)
        self.nextset()  # the caller reads its own statement's result, not the SET's
        return self

    def executemany(self, query, params_seq, **kwargs):
        statement = self._search_path_statement(query)
        if statement is None:
            return super().executemany(query, params_seq, **kwargs)
        if self.connection.autocommit:
            # Each statement would otherwise be a transaction of its own without the path:
            # one transaction holds the SET LOCAL and all of them.
            with self.connection.transaction():
                super().execute(statement)
                return super().executemany(query, params_seq, **kwargs)
        super().execute(statement)
        return super().executemany(query, params_seq, **kwargs)


def server_transaction_status(psycopg_connection) -> str:
    """ "idle": no transaction open on the server, the next statement starts one (psycopg's BEGIN,
    or the implicit transaction of an autocommit statement); "open"; or "failed"."""
    status = psycopg_connection.info.transaction_status
    if status == pq.TransactionStatus.IDLE:
        return "idle"
    if status == pq.TransactionStatus.INERROR:
        return "failed"
    return "open"
