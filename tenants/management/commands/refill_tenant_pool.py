from django.core.management.base import BaseCommand, CommandError

from tenants import pool
from tenants.management.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Top the pool of ready tenant schemas up to TENANT_POOL_SIZE (or --size): drop spares of "
        "older migrations, rebuild the template image if the migrations changed, make the missing "
        "spares."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, help="spares to keep ready (default: TENANT_POOL_SIZE)")

    def handle(self, *args, size=None, **options):
        if size is not None and size < 0:
            raise CommandError("--size must be 0 or more")
        progress = ProgressBar(self.stdout, "spares") if options["verbosity"] >= 1 else None
        report = pool.refill_pool(size, progress=progress)
        if report.skipped:
            raise CommandError("another refill is running; try again when it is done")
        if report.template_rebuilt:
            self.stdout.write("Rebuilt the template image for the current migrations.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.ready} spare schemas ready ({report.made} made, {report.dropped} stale dropped)"
            )
        )
