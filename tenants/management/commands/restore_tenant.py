from django.core.management.base import BaseCommand, CommandError

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import LifecycleRefused, restore_tenant


class Command(BaseCommand):
    help = "Restore a deleted tenant, with its data, within TENANT_DELETE_GRACE_DAYS of its deletion."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        try:
            tenant = restore_tenant(tenant_by_slug(slug))
        except LifecycleRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Restored {tenant.slug} ({tenant.status}) at {tenant.url()}"))
