"""Which Celery queue each task goes to (``CELERY_TASK_ROUTES``).

Four queues, so a long or numerous kind of work never sits in front of a short urgent one:

- ``email``: transactional mail, one person waiting for it (password reset, invitation, set-password
  and welcome links, "your export is ready");
- ``email_bulk``: mail that a single act or a schedule sends to many (digests, notifications); the
  email workers consume it after ``email`` in round robin, and each tenant's bulk mail is paced by
  ``tenant_apps.outbox.pacing``;
- ``bulk``: long platform work: exports, the pool refill, purges, domain verification, the digest
  fan-out (``tenants.*``, ``projects.*``);
- ``default``: the rest (the outbox's recovery and release, anything new).

A queue's name is its kind, except when ``TASK_QUEUES_FOLLOW_DEFAULT`` is set (the test suite):
then ``default`` work goes to the current default queue and the others to ``<default>-<kind>``,
so each test run, and each worker a single test starts, has queues of its own (tests/worker.py).
An explicit ``queue=`` given when sending wins over this routing (Celery merges it last).
"""

from fnmatch import fnmatchcase

from celery import current_app
from django.conf import settings

EMAIL = "email"
EMAIL_BULK = "email_bulk"
BULK = "bulk"
DEFAULT = "default"
KINDS = (DEFAULT, EMAIL, EMAIL_BULK, BULK)

# First match wins; task names are the ``name=`` of each task.
ROUTES = (
    ("outbox.send_message", EMAIL),
    ("outbox.send_queued", EMAIL),
    ("outbox.send_bulk_message", EMAIL_BULK),
    ("tenants.*", BULK),
    ("projects.*", BULK),
)


def kind_of(task_name: str) -> str:
    for pattern, kind in ROUTES:
        if fnmatchcase(task_name, pattern):
            return kind
    return DEFAULT


def queue_name(kind: str) -> str:
    """The queue of ``kind`` in this process (see the module docstring)."""
    if not getattr(settings, "TASK_QUEUES_FOLLOW_DEFAULT", False):
        return kind
    # The app routing the task (config.celery's, the only one; not imported here, see pyproject).
    base = current_app.conf.task_default_queue
    return base if kind == DEFAULT else f"{base}-{kind}"


def all_queue_names() -> list[str]:
    """Every queue a worker consuming all kinds must name (``manage.py dev``, the test workers)."""
    return [queue_name(kind) for kind in KINDS]


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: ``{"queue": ...}`` for the task called ``name``."""
    return {"queue": queue_name(kind_of(name))}
