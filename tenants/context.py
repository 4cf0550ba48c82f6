"""The current tenant as a context variable, so code run for a request in another thread keeps it.

django-tenants keeps the tenant on the database connection, and Django's connections are per
thread (asgiref's thread-critical ``Local``). Code that leaves the request's thread therefore
finds a connection of its own in the public schema: a thread started with
``contextvars.copy_context()``, an executor's thread, ``sync_to_async(thread_sensitive=False)``.
With ``accounts`` in both SHARED_APPS and TENANT_APPS, the public schema has the same tables, so
such code does not fail: it reads the operators' rows.

django-tenants calls ``EXTRA_SET_TENANT_METHOD_PATH`` (settings) on every ``set_tenant`` and
``set_schema`` of a connection; ``remember`` copies the tenant into a ContextVar there, so the
variable always names the tenant this context last put its connection in (the middleware's,
``tenant_context``'s, a Celery task's), and contexts copied from it (threads, asyncio tasks,
``sync_to_async``) carry it. A connection created in such a context starts in that tenant instead
of the public schema (``remember`` sees the connection's first ``set_schema_to_public``, made by its
constructor, and puts it in the context's tenant instead).

What this does not cover: a thread that already has a connection (a reused executor thread)
keeps the schema its connection was last set to; give such code ``tenant_context(tenant)``
itself. Django's ORM in async code goes through ``sync_to_async(thread_sensitive=True)``, which
runs in the request's own thread, on the request's connection.
"""

from contextvars import ContextVar

_current = ContextVar("tenants.current", default=None)
# Set on a connection once its constructor's set_schema_to_public has been seen.
_SEEN = "_tenant_context_seen"


def remember(connection, tenant) -> None:
    """django-tenants' EXTRA_SET_TENANT_METHOD: called with every tenant a connection is set to."""
    if not getattr(connection, _SEEN, False):
        # The connection's constructor putting it in the public schema: a connection created in
        # a context that names a tenant (a thread started for a request) starts in that tenant.
        setattr(connection, _SEEN, True)
        inherited = _current.get()
        if inherited is not None and inherited.schema_name != tenant.schema_name:
            connection.set_tenant(inherited)  # calls remember again, which keeps `inherited`
        return
    _current.set(tenant)


def current_schema() -> str | None:
    """The schema this context's connection was last set to, or None before any was."""
    tenant = _current.get()
    return tenant.schema_name if tenant is not None else None
