"""``migrate_schemas --executor=tenants``: django-tenants' command, our executor (tenants.migrating).

settings.GET_EXECUTOR_FUNCTION names ``get_executor`` below: django-tenants' own lookup by
``codename``, with this module (so this class) imported first. The public schema goes through
django-tenants' own path; tenant schemas through ``migrate_tenants``' run: all of them, spares and
the template included, when django-tenants names every tenant (a plain ``migrate_schemas``), else
only those named (``--schema``).
"""

from django.core.management.base import CommandError
from django_tenants.migration_executors import get_executor as django_tenants_get_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations

from tenants import migrating
from tenants.models import Tenant


class TenantsExecutor(MigrationExecutor):
    codename = "tenants"

    def run_migrations(self, tenants=None):
        tenants = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in tenants:
            run_migrations(self.args, self.options, self.codename, self.PUBLIC_SCHEMA_NAME)
            tenants.remove(self.PUBLIC_SCHEMA_NAME)
        if tenants:
            every_tenant = Tenant.objects.exclude(schema_name=self.PUBLIC_SCHEMA_NAME).values_list(
                "schema_name", flat=True
            )
            only = None if set(tenants) >= set(every_tenant) else set(tenants)
            try:
                report = migrating.migrate_tenants(only=only)
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
