from django.conf import settings
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

    # The owner's one-time set-password link goes to the owner alone, by email: it is never printed
    # (terminal scrollback, CI logs and screen shares are not the owner's). STYLE.md, secrets.
    def handle(self, *args, slug, name, owner_email, **options):
        try:
            provisioned = provision_tenant(slug, name, owner_email)
        except ValidationError as exc:
            raise CommandError(f"cannot provision '{slug}': {one_line(exc)}") from None
        tenant, email = provisioned.tenant, provisioned.owner.email
        self.stdout.write(self.style.SUCCESS(f"Provisioned {tenant.name} ({tenant.slug})"))
        self.stdout.write(f"Tenant URL:        {tenant.url()}")
        self.stdout.write(f"Tenant admin:      {tenant.url('/admin/')}")
        self.stdout.write(f"Owner:             {email}")
        self.stdout.write(f"A welcome email with a one-time link to set a password was sent to {email}.")
        if settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":
            self.stdout.write("(Development: the console email backend prints it in the worker's output.)")
