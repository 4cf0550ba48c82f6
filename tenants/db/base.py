"""The database backend: django-tenants' PostgreSQL backend, minus two round trips per request.

django-tenants issues ``SET search_path`` at the first query after every ``set_tenant()``, and
its middleware calls that twice per request (public, then the tenant), so a request to the tenant
its connection served last still pays a SET. This backend remembers the search path the
connection really has (forgotten wherever django-tenants forgets its own: a rollback, a rollback
to a savepoint, a closed or new connection, a failed SET) and skips a SET that would change
nothing. A request whose host lookup is warm (tenants/host_cache.py) then issues no SET at all.

Django's CONN_HEALTH_CHECKS asks a reused connection ``SELECT 1`` at the start of every request.
Here a connection that answered a query less than CONN_HEALTH_CHECK_IDLE_SECONDS ago is taken as
alive: one used a moment ago is, and the check is kept for the connection that sat idle (where a
restarted server or a dropped firewall state would show).

Behind a transaction pooler (``DATABASES[alias]["POOL_MODE"] = "transaction"``, set from
``DATABASE_POOL_MODE``) neither a session SET nor its skip is safe: the path is then sent with
every transaction instead (tenants/db/pooling.py).
"""

import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_limit_set_calls

from tenants.db import pooling


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._applied_search_paths = None  # what SET search_path last put on this connection
        self._last_used = float("-inf")
        self.pool_mode = pooling.pool_mode_of(self.settings_dict)
        # What SET LOCAL gave the server transaction now open (transaction mode only).
        self._local_search_paths = None
        if self.pool_mode == pooling.TRANSACTION:
            # Server-side cursors are WITH HOLD: they outlive the transaction and its server connection.
            self.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True

    # --- search_path ----------------------------------------------------------------------------

    def _forget_search_path(self) -> None:
        self._applied_search_paths = None
        self._local_search_paths = None

    def connect(self):
        self._forget_search_path()
        super().connect()

    def close(self):
        self._forget_search_path()
        super().close()

    def rollback(self):
        self._forget_search_path()
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self._forget_search_path()

    def _handle_search_path(self, cursor=None):
        if (
            not self._setting_search_path
            and not self.search_path_set_schemas
            and get_limit_set_calls()
            and self.schema_name
            and self._applied_search_paths is not None
            and self._get_cursor_search_paths() == self._applied_search_paths
        ):
            self.search_path_set_schemas = self._applied_search_paths
            return
        super()._handle_search_path(cursor)
        if not self._setting_search_path:
            # Set by a successful SET, None after a failed one (the connection's path unknown).
            self._applied_search_paths = self.search_path_set_schemas

    def _cursor(self, name=None):
        if self.pool_mode == pooling.TRANSACTION:
            cursor = self._transaction_pooled_cursor(name)
        else:
            cursor = super()._cursor(name)
        self._last_used = time.monotonic()
        return cursor

    # --- transaction pooling (tenants/db/pooling.py) ----------------------------------------------

    def get_connection_params(self):
        params = super().get_connection_params()
        if self.pool_mode == pooling.TRANSACTION:
            params["cursor_factory"] = pooling.TransactionPooledCursor
        return params

    def _transaction_pooled_cursor(self, name):
        if not self.schema_name:
            raise ImproperlyConfigured("Database schema not set: call set_schema() or set_tenant().")
        search_paths = self._get_cursor_search_paths()
        # Django's cursor, without django-tenants' session SET.
        cursor = super(TenantDatabaseWrapper, self)._cursor(name)
        cursor.cursor.tenant_database = self
        cursor.cursor.tenant_search_paths = search_paths
        return cursor

    def search_path_statement_for(self, search_paths, query) -> str | None:
        """The ``SET LOCAL`` that must go before ``query`` for it to run on ``search_paths``, or
        None when the server transaction it joins already has that path."""
        if pooling.is_transaction_control(query):
            return None
        status = pooling.server_transaction_status(self.connection)
        if status == "failed":
            return None  # the statement fails anyway; only a rollback can follow
        if status == "idle":
            if pooling.runs_outside_transaction_block(query):
                return None
        elif self._local_search_paths == search_paths:
            return None
        self._local_search_paths = search_paths
        return pooling.set_local_search_path(search_paths)

    # --- health checks --------------------------------------------------------------------------

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and not self.health_check_done
            and time.monotonic() - self._last_used < settings.CONN_HEALTH_CHECK_IDLE_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
