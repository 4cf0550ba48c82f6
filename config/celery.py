"""The Celery app, tenant-aware.

tenant-schemas-celery was chosen over a hand-written base task: it stamps the current schema into
every message's headers when a task is sent and switches the worker's connection to that schema
before the task runs (and back after), so a task enqueued in acme's context runs in acme's schema
and one enqueued outside any tenant runs in public. Its TenantAwareScheduler also lets beat fan a
periodic entry out to every tenant.
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
