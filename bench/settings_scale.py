"""Settings of bench/scale.py: the project's own, plus what the bench needs and nothing a real
deployment runs.

- ``bench.scale_app``, a tenant app whose migrations live in a temporary package the bench writes
  for its run (BENCH_SCALE_MIGRATIONS names it): the "one new AddField" of the migration timings
  is added there and deleted with the run, never in a real app.
- BENCH_FIXED_SCHEMA set: the tenant middleware is replaced by one that serves that schema for
  every host without looking the host up (bench/scale_app/fixed.py), the baseline of the routing
  figures.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS, MIDDLEWARE, TENANT_APPS

TENANT_APPS = [*TENANT_APPS, "bench.scale_app"]
INSTALLED_APPS = [*INSTALLED_APPS, "bench.scale_app"]
MIGRATION_MODULES = {"scale_app": os.environ.get("BENCH_SCALE_MIGRATIONS", "bench.scale_app.no_migrations")}

if os.environ.get("BENCH_FIXED_SCHEMA"):
    MIDDLEWARE = [
        "bench.scale_app.fixed.FixedTenantMiddleware"
        if name == "tenants.middleware.TenantHostMiddleware"
        else name
        for name in MIDDLEWARE
    ]

# django-tenants' multiprocessing executor gets as many processes as migrate_tenants (--processes).
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
