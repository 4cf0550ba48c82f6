from django.core.management.base import BaseCommand, CommandError

from tenants import migrating
from tenants.management.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Migrate every tenant schema, spare and the template to this code's migrations: the work is "
        "found with a few queries, schemas migrate in parallel (--processes, TENANT_MIGRATE_PROCESSES), "
        "each in one transaction while its tenant is held (503). Exits non-zero listing the schemas "
        "that failed (rolled back). After a crash, --resume continues the run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes", type=int, help="schemas migrated at once (default: TENANT_MIGRATE_PROCESSES)"
        )
        parser.add_argument("--resume", action="store_true", help="continue a run that did not finish")
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="ask nothing (it never asks)",
        )

    def handle(self, *args, processes=None, resume=False, **options):
        if processes is not None and processes < 1:
            raise CommandError("--processes must be 1 or more")
        progress = ProgressBar(self.stdout, "schemas") if options["verbosity"] >= 1 else None
        try:
            report = migrating.migrate_tenants(processes=processes, resume=resume, progress=progress)
        except migrating.RunRefused as refused:
            raise CommandError(str(refused)) from None
        if report.public_migrated:
            self.stdout.write("Migrated the public schema.")
        if not report.results:
            self.stdout.write(self.style.SUCCESS(f"All {report.schemas_checked} schemas are up to date."))
            return
        if options["verbosity"] >= 1:
            self.stdout.write(f"{'schema':<40} {'applied':>7} {'seconds':>8}  outcome")
            for result in report.results:
                outcome = result.outcome + (" (held)" if result.held else "")
                self.stdout.write(
                    f"{result.schema:<40} {result.applied:>7} {result.seconds:>8.2f}  {outcome}"
                )
        migrated = len(report.results) - len(report.failures)
        if report.template_image_rebuilt:
            self.stdout.write("Rebuilt the template image for the current migrations.")
        summary = f"run {report.run_id}: {migrated} schemas migrated, {len(report.failures)} failed"
        if report.failures:
            for failure in report.failures:
                self.stderr.write(
                    f"{failure.schema}: {failure.error.splitlines()[0] if failure.error else ''}"
                )
            raise CommandError(
                f"{summary} (rolled back, still on their old migrations): "
                + ", ".join(f.schema for f in report.failures)
            )
        self.stdout.write(self.style.SUCCESS(summary))
