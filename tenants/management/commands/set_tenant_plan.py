from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import limits
from tenants.management.commands._lookup import tenant_by_slug


def limit_value(text: str) -> int | None:
    """A limit on the command line: a whole number, or "none" for no limit."""
    if text.strip().lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"'{text}' is not a limit: give a whole number or 'none'") from None


class Command(BaseCommand):
    help = (
        "Put a tenant on a plan (its limits reset to the plan's defaults), optionally overriding "
        "some limits: set_tenant_plan acme team --max-users 40 --max-storage-mb none"
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("plan", help="one of the TENANT_PLANS setting's names")
        for name in limits.LIMIT_FIELDS.values():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help="a whole number, or 'none'")

    def handle(self, *args, slug, plan, **options):
        overrides = {
            name: limit_value(options[name])
            for name in limits.LIMIT_FIELDS.values()
            if options.get(name) is not None
        }
        tenant = tenant_by_slug(slug)
        try:
            tenant = limits.change_plan(tenant, plan, **overrides)
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            ) from None

        def shown(value):
            return "no limit" if value is None else value

        self.stdout.write(
            self.style.SUCCESS(
                f"{tenant.slug} is on the {tenant.plan} plan: {shown(tenant.max_users)} users, "
                f"{shown(tenant.max_projects)} projects, {shown(tenant.max_storage_mb)} MB"
            )
        )
