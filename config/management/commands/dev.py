"""`manage.py dev`: the whole platform on one machine, in one terminal.

Runs, with prefixed output, Django's auto-reloading dev server, a Celery worker and Celery beat
(honcho's process manager: it prefixes and colours each process's lines and stops all of them
on Ctrl-C or when one exits). Before that it migrates the public and every tenant schema, tops
the pool of ready tenant schemas up (tenants/pool.py) and seeds the demo data once. Without
DATABASE_URL/REDIS_URL, manage.py has already started the embedded PostgreSQL and Redis
(config/embedded.py, data in .data/dev); they stop when this command exits, after its children.

The web server listens on ``localhost`` by default, so the address runserver prints is the
operator's site (an IP address is no domain this platform routes), and ``--port`` becomes
PUBLIC_PORT here and in every child: links made outside a request (set-password links,
invitations, provisioning output, the operator API's ``url`` fields) name the port in use.
"""

import logging
import os
import re
import signal
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config import embedded
from config.demo import seed_demo
from tenants import pool


class Command(BaseCommand):
    help = (
        "Run the platform locally: migrate, refill the tenant pool, seed demo tenants, then web "
        "server + worker + beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument(
            "--addr", default="localhost", help="web server address (default localhost, the operator's site)"
        )
        parser.add_argument("--no-worker", action="store_true", help="run neither the Celery worker nor beat")
        parser.add_argument("--no-seed", action="store_true", help="do not create the demo data")
        parser.add_argument("--no-reload", action="store_true", help="run the web server without auto-reload")
        parser.add_argument(
            "--check",
            action="store_true",
            help="migrate, refill the tenant pool, seed and print the URLs, then exit "
            "without starting processes",
        )

    def handle(self, *args, port, addr, no_worker, no_seed, no_reload, check, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a TCP port")
        # Before anything builds a link: seeding below provisions tenants and emails their owners.
        os.environ["PUBLIC_PORT"] = str(port)
        settings.PUBLIC_PORT = str(port)
        self._describe_services()
        self.stdout.write("Migrating the public schema and every tenant schema ...")
        call_command("migrate_schemas", interactive=False, verbosity=0)
        # The refill after the seed: the pool is full when the processes start.
        logins = [] if no_seed else seed_demo(self._url)
        self._refill_pool()
        if logins:
            self._print_logins(logins)
        if check:
            return
        self._run(port, addr, no_worker, no_reload)

    def _describe_services(self):
        data = embedded.data_dir()
        for label, variable in (("PostgreSQL", "DATABASE_URL"), ("Redis", "REDIS_URL")):
            if variable in embedded.started:
                where = f"embedded, data in {data}"
            else:
                where = f"{variable} from the environment"
            self.stdout.write(f"{label}: {where}")

    def _refill_pool(self):
        """One refill now, not at beat's first run a minute in: the first tenants provisioned get
        ready spares. A refill that cannot run (no usable pg_dump) costs speed only, since
        provisioning then migrates, so it is a warning and the platform starts."""
        quiet = logging.getLogger(pool.__name__)
        level = quiet.level
        quiet.setLevel(logging.WARNING)  # the summary below says it in one line
        try:
            report = pool.refill_pool()
        except RuntimeError as error:
            self.stderr.write(f"Tenant pool: not refilled ({error}); new tenants are migrated instead.")
            return
        finally:
            quiet.setLevel(level)
        if report.skipped:
            self.stdout.write("Tenant pool: another refill is running; it tops the pool up.")
            return
        rebuilt = ", template image rebuilt" if report.template_rebuilt else ""
        self.stdout.write(
            f"Tenant pool: {report.ready} spare schemas ready ({report.made} made, "
            f"{report.dropped} stale dropped{rebuilt})."
        )

    @staticmethod
    def _url(host, path):
        # Built like Tenant.url, from the same settings, so what is printed is what is emailed.
        return f"{settings.PUBLIC_SCHEME}://{host or settings.BASE_DOMAIN}:{settings.PUBLIC_PORT}{path}"

    def _print_logins(self, logins):
        url = self._url
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("The platform is at:"))
        self.stdout.write(f"  operator site       {url(None, '/')}")
        self.stdout.write(f"  any other subdomain 404, e.g. {url('nosuch.' + settings.BASE_DOMAIN, '/')}")
        self.stdout.write(self.style.SUCCESS("Demo logins (password for all: shown below):"))
        for login in logins:
            self.stdout.write(f"  {login.where:<28} {login.url:<38} {login.email} / {login.password}")
        self.stdout.write("")

    def _run(self, port, addr, no_worker, no_reload):
        from honcho.manager import Manager

        from config.task_routes import all_queue_names

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        python = sys.executable
        data = embedded.data_dir()
        data.mkdir(parents=True, exist_ok=True)
        manager = Manager(_printer(sys.stdout))
        reload_flag = " --noreload" if no_reload else ""
        where = {"env": env, "cwd": str(settings.BASE_DIR)}
        # The debug toolbar is for this web process only (settings: DEV_TOOLBAR), and runserver's
        # "do not use in production" banner says what this command's name already does.
        web_env = {**env, "DEV_TOOLBAR": "1", "DJANGO_RUNSERVER_HIDE_WARNING": "true"}
        runserver = f"{python} manage.py runserver {addr}:{port}{reload_flag}"
        manager.add_process("web", runserver, env=web_env, cwd=where["cwd"])
        if not no_worker:
            celery = f"{python} -m celery -A config"
            schedule = data / "celerybeat-schedule"
            # One worker consuming every queue (config/task_routes.py), not compose's one per queue:
            # a laptop needs no isolation between kinds of work, and each worker costs ~100 MB.
            queues = ",".join(all_queue_names())
            manager.add_process(
                "worker", f"{celery} worker --loglevel=INFO --concurrency=2 -Q {queues}", **where
            )
            manager.add_process("beat", f"{celery} beat --loglevel=INFO --schedule {schedule}", **where)
        manager.loop()
        # 130/143 are Ctrl-C and SIGTERM: a normal way to stop, not a failure.
        if manager.returncode not in (0, 130, 143, None):
            sys.exit(manager.returncode)


# honcho stops every process with SIGTERM on Ctrl-C and reports "web stopped (rc=-15)", which reads
# like a crash; a process ended by SIGTERM or SIGINT is reported as "stopped". Any other return
# code (a real failure) is printed as honcho prints it.
STOPPED_BY_SIGNAL = re.compile(
    rf"^(\S+) stopped \(rc=-(?:{signal.SIGTERM:d}|{signal.SIGINT:d})\)$", re.MULTILINE
)


def _printer(output):
    from honcho.printer import Printer

    class ShutdownPrinter(Printer):
        def write(self, message):
            if message.name == "system" and isinstance(message.data, str):
                message = message._replace(data=STOPPED_BY_SIGNAL.sub(r"\1 stopped", message.data))
            super().write(message)

    return ShutdownPrinter(output)
