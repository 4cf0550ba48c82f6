from django.core.management.base import BaseCommand, CommandError

from tenants import pool


class ProgressBar:
    """``[#####.....] 5/10 spares`` redrawn in place on a terminal, one line per step otherwise
    (a log file gets every step, not carriage returns)."""

    width = 30

    def __init__(self, stream, label: str):
        self.stream, self.label = stream, label
        self.tty = getattr(stream, "isatty", lambda: False)()

    def __call__(self, done: int, total: int) -> None:
        if total == 0:
            return
        filled = self.width * done // total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {self.label}"
        if self.tty:
            self.stream.write(f"\r{line}", ending="\n" if done == total else "")
            self.stream.flush()
        else:
            self.stream.write(line)


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
