"""Settings for the test suite: the project's settings, on env services or embedded ones.

pytest-django imports this module before anything touches the database, which is the moment to
start the embedded PostgreSQL and Redis when DATABASE_URL/REDIS_URL are unset (a fresh clone).
"""

from config.embedded import ensure_services

ensure_services()

from config.settings import *  # noqa: E402,F403
from config.settings import CACHES  # noqa: E402

# Fast hashing: the suite creates many users; production hashers are tested by Django itself.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Keys of the suite never mix with a dev server's sharing the same Redis.
CACHES["default"]["KEY_PREFIX"] = "tp-test"
# The suite runs a Celery worker in a thread beside the test thread: a task waiting on a row or
# table lock the test thread holds would wait forever and stall the worker (and its shutdown).
# Bounded, such a wait fails the task, which the outbox's retry and recovery then handle.
from config.settings import DATABASES  # noqa: E402

DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c lock_timeout=5000"
