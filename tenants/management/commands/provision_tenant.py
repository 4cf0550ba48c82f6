from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.services import provision_tenant


def one_line(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create a tenant: its schema, its primary domain <slug>.BASE_DOMAIN and its owner."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="subdomain and schema: 3-40 lowercase letters, digits, hyphens")
        parser.add_argument("--name", required=True, help="the company's display name")
        parser.add_argument("--owner-email", required=True, help="the owner's email address")

    def handle(self, *args, slug, name, owner_email, **options):
        try:
            provisioned = provision_tenant(slug, name, owner_email)
        except ValidationError as exc:
            raise CommandError(f"cannot provision '{slug}': {one_line(exc)}") from None
        tenant = provisioned.tenant
        self.stdout.write(self.style.SUCCESS(f"Provisioned {tenant.name} ({tenant.slug})"))
        self.stdout.write(f"Tenant URL:        {tenant.url()}")
        self.stdout.write(f"Tenant admin:      {tenant.url('/admin/')}")
        self.stdout.write(f"Owner:             {provisioned.owner.email}")
        self.stdout.write(f"Set-password link: {provisioned.set_password_url}  (one-time)")
