from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import LifecycleRefused, rename_tenant


class Command(BaseCommand):
    help = (
        "Rename a tenant's subdomain; the old host redirects to the new one for "
        "TENANT_RENAME_REDIRECT_DAYS, then the old name is free."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("new_slug")

    def handle(self, *args, slug, new_slug, **options):
        tenant = tenant_by_slug(slug)
        try:
            tenant = rename_tenant(tenant, new_slug)
        except LifecycleRefused as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            reasons = "; ".join(m for messages in exc.message_dict.values() for m in messages)
            raise CommandError(f"cannot rename '{slug}': {reasons}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Renamed {slug} to {tenant.slug}: {tenant.url()} (the old host redirects there for "
                f"{settings.TENANT_RENAME_REDIRECT_DAYS} days)"
            )
        )
