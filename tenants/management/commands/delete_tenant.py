from django.core.management.base import BaseCommand, CommandError

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import delete_tenant, purge_after, purge_tenant


class Command(BaseCommand):
    # Ours, not django-tenants' interactive command of the same name (which drops the schema at once
    # and bypasses the lifecycle service): `tenants` comes before `django_tenants` in INSTALLED_APPS.
    help = (
        "Soft-delete a tenant: its hosts answer 404, its data is kept for TENANT_DELETE_GRACE_DAYS "
        "(restore_tenant brings it back), then the beat job drops it. --purge --yes drops it now."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--purge", action="store_true", help="drop the schema and all its data now")
        parser.add_argument("--yes", action="store_true", help="confirm --purge: it cannot be undone")

    def handle(self, *args, slug, purge, yes, **options):
        tenant = tenant_by_slug(slug)
        if purge and not yes:
            raise CommandError(f"purging '{slug}' drops all its data; run again with --yes to confirm")
        tenant = delete_tenant(tenant)
        if purge:
            purge_tenant(tenant)
            self.stdout.write(self.style.SUCCESS(f"Deleted {slug} and dropped schema {tenant.schema_name}"))
            return
        self.stdout.write(
            self.style.SUCCESS(f"Deleted {slug}: restorable until {purge_after(tenant):%Y-%m-%d %H:%M} UTC")
        )
