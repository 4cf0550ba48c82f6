from django.core.management.base import BaseCommand, CommandError

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import delete_tenant


class Command(BaseCommand):
    # Named drop_tenant because django-tenants ships an interactive `delete_tenant` that bypasses
    # the lifecycle service and would shadow ours (it comes first in INSTALLED_APPS).
    help = "Delete a tenant and drop its schema with all its data. Irreversible."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--yes", action="store_true", help="confirm: this drops the tenant's data")

    def handle(self, *args, slug, yes, **options):
        tenant = tenant_by_slug(slug)
        if not yes:
            raise CommandError(f"deleting '{slug}' drops all its data; run again with --yes to confirm")
        delete_tenant(tenant)
        self.stdout.write(self.style.SUCCESS(f"Deleted {slug} and dropped schema {tenant.schema_name}"))
