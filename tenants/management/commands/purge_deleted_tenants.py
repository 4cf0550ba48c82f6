from django.core.management.base import BaseCommand

from tenants.services import purge_deleted_tenants


class Command(BaseCommand):
    help = (
        "Drop the tenants deleted more than TENANT_DELETE_GRACE_DAYS ago and delete expired host "
        "redirects: what the beat job tenants.purge_deleted does."
    )

    def handle(self, *args, **options):
        purged = purge_deleted_tenants()
        self.stdout.write(
            self.style.SUCCESS(f"Purged {len(purged)} tenant(s){': ' if purged else ''}{', '.join(purged)}")
        )
