"""``migrate_schemas --executor=tenants``: django-tenants' command, our executor (tenants.migrating).

settings.GET_EXECUTOR_FUNCTION names ``get_executor`` below: django-tenants' own lookup by
``codename``, with this module (so this class) imported first. The public schema goes through
django-tenants' own path; a list of tenant schemas through ``migrate_tenants``' run, which migrates
every schema that is behind (those named and any others: the run finds the work itself).
"""

from django.core.management.base import CommandError
from django_tenants.migration_executors import get_executor as django_tenants_get_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations

from tenants import migrating


class TenantsExecutor(MigrationExecutor):
    codename = "tenants"

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in tenants:
            run_migrations(self.args, self.options, self.codename, self.PUBLIC_SCHEMA_NAME)
            tenants.remove(self.PUBLIC_SCHEMA_NAME)
        if tenants:
            try:
                report = migrating.migrate_tenants()
            except migrating.RunRefused as refused:
                raise CommandError(str(refused)) from None
            if report.failures:
                raise CommandError(
                    "schemas rolled back, still on their old migrations: "
                    + ", ".join(f.schema for f in report.failures)
                )

    def run_multi_type_migrations(self, tenants):
        raise NotImplementedError("the platform has one tenant type")


def get_executor(codename=None):
    return django_tenants_get_executor(codename)
