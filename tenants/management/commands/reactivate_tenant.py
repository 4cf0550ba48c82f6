from django.core.management.base import BaseCommand

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import reactivate_tenant


class Command(BaseCommand):
    help = "Reactivate a suspended tenant."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        tenant = reactivate_tenant(tenant_by_slug(slug))
        self.stdout.write(self.style.SUCCESS(f"Reactivated {tenant.slug}"))
