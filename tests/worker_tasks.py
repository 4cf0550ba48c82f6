"""Test-only tasks, registered in the suite's worker (``celery worker --include tests.worker_tasks``).

They report to the test process through the cache (the suite's own Redis database and key prefix),
which both processes share. Add a task here when a test needs to see something from inside the
worker; keep each one a few lines.
"""

import os

from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from config.celery import app


def report_key(token: str) -> str:
    return f"worker-report:{token}"


def report(token: str, value: dict) -> None:
    # Cache keys carry the current schema (django_tenants.cache.make_key): reports are always
    # written, and read (tests/worker.py), in public, whatever schema the task ran in.
    with schema_context("public"):
        cache.set(report_key(token), value, timeout=600)


def read_report(token: str) -> dict | None:
    with schema_context("public"):
        return cache.get(report_key(token))


@app.task(name="tests.ping", ignore_result=True)
def ping(token: str) -> None:
    """Record that the worker reached this task, with the schema it ran in and its pid.

    The worker runs one task at a time in queue order (pool solo, prefetch 1), so once a ping
    enqueued after some tasks has run, those tasks have run too.
    """
    report(token, {"schema": connection.schema_name, "pid": os.getpid()})


@app.task(name="tests.fail", ignore_result=True)
def fail(reason: str) -> None:
    """Fail, with a secret in a local variable (``reason`` reversed, so the literal is in no source
    line Sentry quotes): what a task's bug looks like to Sentry."""
    api_token = reason[::-1]  # noqa: F841  (read by Sentry from the frame)
    raise RuntimeError(reason)
