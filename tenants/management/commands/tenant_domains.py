from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import domains
from tenants.management.commands._lookup import tenant_by_slug
from tenants.models import Domain


class Command(BaseCommand):
    help = (
        "A tenant's domains: list them, add a custom domain (unverified until its token is served on it "
        "or published in a TXT record), "
        "verify one now, make a verified one primary, or remove a custom one."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("action", choices=["list", "add", "verify", "primary", "remove"])
        parser.add_argument("host", nargs="?", help="the domain (every action but list)")

    def handle(self, *args, slug, action, host, **options):
        tenant = tenant_by_slug(slug)
        if action == "list":
            for domain in tenant.domains.order_by("domain"):
                self._show(domain)
            return
        if not host:
            raise CommandError(
                f"'{action}' needs a host, e.g. tenant_domains {slug} {action} shop.example.com"
            )
        try:
            if action == "add":
                domain = domains.add_custom_domain(tenant, host)
                self.stdout.write(self.style.SUCCESS(f"Added {domain.domain} to {tenant.slug} (pending)."))
                self.stdout.write(domains.instructions(domain))
                return
            domain = self._domain(tenant, host)
            if action == "verify":
                if not domains.verify_domain(domain):
                    raise CommandError(f"{domain.domain} is not verified: {domain.verification_error}")
                self.stdout.write(self.style.SUCCESS(f"{domain.domain} is verified."))
            elif action == "primary":
                domains.set_primary_domain(domain)
                self.stdout.write(
                    self.style.SUCCESS(f"{domain.domain} is now {tenant.slug}'s primary domain.")
                )
            else:
                domains.remove_custom_domain(domain)
                self.stdout.write(self.style.SUCCESS(f"Removed {domain.domain} from {tenant.slug}."))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    @staticmethod
    def _domain(tenant, host) -> Domain:
        domain = tenant.domains.filter(domain=host.strip().lower().removesuffix(".")).first()
        if domain is None:
            raise CommandError(f"{tenant.slug} has no domain '{host}'")
        return domain

    def _show(self, domain):
        state = "verified" if domain.verified_at else "pending"
        primary = " primary" if domain.is_primary else ""
        self.stdout.write(f"{domain.domain}  {state}{primary}")
        if not domain.verified_at:
            self.stdout.write(f"  token: {domain.verification_token}")
            url, txt = domains.verification_url(domain), domains.txt_record_name(domain)
            self.stdout.write(f"  served at {url} or in a TXT record at {txt}")
            if domain.verification_error:
                self.stdout.write(f"  last check: {domain.verification_error}")
