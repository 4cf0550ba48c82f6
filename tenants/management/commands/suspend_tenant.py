from django.core.management.base import BaseCommand

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import suspend_tenant


class Command(BaseCommand):
    help = "Suspend a tenant: its hosts answer 403 'workspace suspended'; its data is kept."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--reason", default="", help="recorded on the tenant")

    def handle(self, *args, slug, reason, **options):
        tenant = suspend_tenant(tenant_by_slug(slug), reason)
        self.stdout.write(self.style.SUCCESS(f"Suspended {tenant.slug}"))
