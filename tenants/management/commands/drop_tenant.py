from tenants.management.commands import delete_tenant


class Command(delete_tenant.Command):
    """Kept for the scripts that know it: `drop_tenant <slug> --yes` is `delete_tenant <slug> --purge
    --yes`, the immediate hard drop (soft delete first, then purge, through the lifecycle service)."""

    help = "Delete a tenant and drop its schema with all its data now. Irreversible (delete_tenant --purge)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--yes", action="store_true", help="confirm: this drops the tenant's data")

    def handle(self, *args, **options):
        return super().handle(*args, **options, purge=True)
