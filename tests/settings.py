"""Settings for the test suite: the project's settings, on env services or embedded ones.

pytest-django imports this module before anything touches the database, which is the moment to
start the embedded PostgreSQL and Redis when DATABASE_URL/REDIS_URL are unset (a fresh clone).

The Celery worker of the suite (tests/worker.py) is a subprocess importing this module too
(through tests/worker_settings.py): what both processes must agree on comes from environment
variables the test process sets and the worker inherits.
"""

import os
import tempfile
import uuid

from config.embedded import ensure_services

ensure_services("test")  # .data/test: a test run never touches the data of `manage.py dev`
# The debug toolbar is `manage.py dev`'s alone: a DEV_TOOLBAR left in the shell does not reach the
# suite or its workers (a test that runs `manage.py dev` gets it from the command, as a developer does).
os.environ.pop("DEV_TOOLBAR", None)

from config.settings import *  # noqa: E402,F403
from config.settings import CACHES, DATABASES  # noqa: E402

# One id per pytest run, inherited by its worker subprocesses. Everything the suite puts in Redis
# is named with it: its Celery queue and its cache keys. Two runs, or a run and a dev server,
# sharing a Redis database never consume or delete each other's messages and keys.
RUN_ID = os.environ.setdefault("TP_TEST_RUN_ID", uuid.uuid4().hex[:12])
# The queue this process publishes to and the session's worker consumes; a worker started for one
# test gets a queue of its own through the same variable (tests/worker.py).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TP_TEST_QUEUE") or f"tests-{RUN_ID}"
# The other queues (email, email_bulk, bulk) are named after it, "<default>-<kind>"
# (config/task_routes.py): the run's workers consume all four, a single test's worker its own four.
TASK_QUEUES_FOLLOW_DEFAULT = True
# A test template that is bulk mail (tests/outbox/test_fairness.py).
OUTBOX_BULK_TEMPLATES = [*OUTBOX_BULK_TEMPLATES, "outboxtest/newsletter"]  # noqa: F405

# A tenant app whose next migrations tests/tenants/test_migrate_tenants.py switches in.
TENANT_APPS = [*TENANT_APPS, "tests.tenants.migrating_app"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "tests.tenants.migrating_app"]  # noqa: F405

# No per-process copy of host lookups (tenants/host_cache.py): workers change tenants and domains in
# other processes, and tests read the change at once. tests/tenants/test_host_local_copy.py turns
# it on.
TENANT_HOST_LOCAL_SECONDS = 0
# Fast hashing: the suite creates many users; production hashers are tested by Django itself.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The suite deletes its own keys between tests (tests/conftest.py), found by this prefix; it never
# flushes a database, which a dev server may share.
CACHES["default"]["KEY_PREFIX"] = f"tp-test-{RUN_ID}"
# Workers of this run say they are alive under a key of this run (deleted with its queues), so
# /-/ready/ in a test sees this run's workers only. A test's own worker may be given another.
WORKER_HEARTBEAT_KEY = os.environ.get("WORKER_HEARTBEAT_KEY") or f"tests-{RUN_ID}:worker-heartbeat"
# The queues /-/ready/ wants a consumer for: this run's (config/task_routes.py, "<default>-<kind>").
READY_WORKER_QUEUES = [
    CELERY_TASK_DEFAULT_QUEUE if kind == "default" else f"{CELERY_TASK_DEFAULT_QUEUE}-{kind}"
    for kind in ("default", "email", "email_bulk", "bulk")
]
# A worker task waiting on a row or table lock the test thread holds would wait for as long as the
# test does, and a test waiting for that task would then time out instead of failing clearly.
# Bounded, such a wait fails the task, which the outbox's retry and recovery then handle.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c lock_timeout=5000"
# Export archives (the default storage) in a directory of this run, shared with its workers (which
# inherit the variable), never in the project's .data/media.
MEDIA_ROOT = os.environ.setdefault("TP_TEST_MEDIA_ROOT", tempfile.mkdtemp(prefix=f"tp-test-media-{RUN_ID}-"))
