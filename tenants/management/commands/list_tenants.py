from django.core.management.base import BaseCommand

from tenants.models import Tenant
from tenants.services import attach_user_counts


class Command(BaseCommand):
    help = "List every tenant with its status, user count and domains."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=Tenant.Status.values, help="only tenants with this status")

    def handle(self, *args, status=None, **options):
        tenants = Tenant.objects.prefetch_related("domains")
        if status:
            tenants = tenants.filter(status=status)
        tenants = attach_user_counts(tenants)
        rows = [
            (
                t.slug,
                t.name,
                t.status,
                str(t.user_count),
                t.created_at.strftime("%Y-%m-%d"),
                ", ".join(d.domain for d in t.domains.all()),
            )
            for t in tenants
        ]
        header = ("SLUG", "NAME", "STATUS", "USERS", "CREATED", "DOMAINS")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
        if not rows:
            self.stdout.write("(no tenants)")
