"""Outbox rows seen from the test process, while a worker subprocess changes them."""

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from tenant_apps.outbox import drain_marks
from tenant_apps.outbox.models import OutboxMessage
from tests.worker import wait_until

__all__ = ["delete_outbox_rows", "row", "wait_for_status", "wait_until"]

SCHEMAS = ("acme", "globex")  # the session tenants of tests/conftest.py


def row(schema: str, public_id) -> OutboxMessage:
    with schema_context(schema):
        return OutboxMessage.objects.get(public_id=public_id)


def wait_for_status(schema: str, public_id, *statuses: str, timeout: float = 30.0) -> OutboxMessage:
    """The row once its status is one of ``statuses``; an AssertionError after ``timeout``."""

    def settled():
        message = row(schema, public_id)
        return message if message.status in statuses else None

    return wait_until(settled, timeout)


def delete_outbox_rows() -> None:
    """Committed rows in the session tenants' schemas (a transactional test's): delete them all,
    and their drain marks, so a drain a test left on a queue no worker reads (its mark still set)
    cannot make the next test's emails wait for it."""
    for schema in SCHEMAS:
        with schema_context(schema):
            OutboxMessage.objects.all().delete()
    forget_drain_marks()
    connection.set_schema_to_public()


def forget_drain_marks() -> None:
    """Every drain mark of this test run (its cache key prefix), whatever the schema."""
    client = drain_marks._client(settings.CACHE_URL)
    for key in client.scan_iter(match=drain_marks.key_for("*")):
        client.delete(key)
