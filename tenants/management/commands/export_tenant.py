import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from tenants import exports
from tenants.management.commands._lookup import tenant_by_slug
from tenants.management.progress import ProgressBar
from tenants.models import TenantExport

POLL_SECONDS = 0.5
# Said once when no worker has claimed the export by then.
NO_WORKER_HINT_SECONDS = 30


class Command(BaseCommand):
    help = (
        "Export a tenant's data (a zip of JSON files per model and a manifest, no secrets), built by "
        "a Celery worker; --wait follows it with a progress bar until it is ready or has failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--email", default="", help="also email this address when the export is ready")
        parser.add_argument(
            "--wait", action="store_true", help="follow the export until it is ready or failed"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            help="with --wait: give up waiting after this many seconds (the export goes on); "
            "default: the export's time limit",
        )

    def handle(self, *args, slug, email, wait, timeout, **options):
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"--email: '{email}' is not an email address") from None
        tenant = tenant_by_slug(slug)
        try:
            export = exports.request_export(tenant, email, TenantExport.Via.OPERATOR)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Export {export.public_id} of {tenant.slug} started.")
        if not wait:
            self.stdout.write("Follow it with --wait, the operator API or the global admin (Tenant exports).")
            return
        export = self._follow(export, timeout, options["verbosity"])
        if export.status != TenantExport.Status.READY:
            raise CommandError(export.error or f"the export is {export.status}")
        location = export.file
        if hasattr(storages["exports"], "path"):
            location = storages["exports"].path(export.file)
        self.stdout.write(
            self.style.SUCCESS(
                f"Ready: {location} ({export.size_bytes} bytes), "
                f"kept until {export.expires_at:%Y-%m-%d %H:%M} UTC"
            )
        )

    def _follow(self, export, timeout, verbosity):
        limit = timeout if timeout is not None else settings.TENANT_EXPORT_TIME_LIMIT + 120
        bar = ProgressBar(self.stdout, "%") if verbosity >= 1 else None
        started = time.monotonic()
        shown, hinted = -1, False
        finished = (TenantExport.Status.READY, TenantExport.Status.FAILED, TenantExport.Status.EXPIRED)
        while True:
            export.refresh_from_db()
            if bar is not None and export.progress != shown and export.status != TenantExport.Status.FAILED:
                shown = export.progress
                bar(shown, 100)
            if export.status in finished:
                return export
            waited = time.monotonic() - started
            if (
                export.status == TenantExport.Status.PENDING
                and waited > NO_WORKER_HINT_SECONDS
                and not hinted
            ):
                self.stderr.write("No worker has taken the export yet: is a Celery worker running?")
                hinted = True
            if waited > limit:
                raise CommandError(
                    f"still {export.status} after {limit:.0f}s; the export goes on (id {export.public_id})"
                )
            time.sleep(POLL_SECONDS)
