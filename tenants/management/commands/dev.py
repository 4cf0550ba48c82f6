"""`manage.py dev`: the whole platform on one machine, in one terminal.

Runs, with prefixed output, Django's auto-reloading dev server, a Celery worker and Celery beat
(honcho's process manager: it prefixes and colours each process's lines and stops all of them
on Ctrl-C or when one exits). Before that it migrates the public and every tenant schema and seeds
the demo data once. Without DATABASE_URL/REDIS_URL, manage.py has already started the embedded
PostgreSQL and Redis (config/embedded.py); they stop when this command exits.
"""

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config import embedded
from tenants.demo import seed_demo


class Command(BaseCommand):
    help = "Run the platform locally: migrate, seed demo tenants, then web server + worker + beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument("--addr", default="127.0.0.1", help="web server address (default 127.0.0.1)")
        parser.add_argument("--no-worker", action="store_true", help="run neither the Celery worker nor beat")
        parser.add_argument("--no-seed", action="store_true", help="do not create the demo data")
        parser.add_argument("--no-reload", action="store_true", help="run the web server without auto-reload")
        parser.add_argument("--check", action="store_true",
                            help="migrate, seed and print the URLs, then exit without starting processes")

    def handle(self, *args, port, addr, no_worker, no_seed, no_reload, check, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a TCP port")
        self._describe_services()
        self.stdout.write("Migrating the public schema and every tenant schema ...")
        call_command("migrate_schemas", interactive=False, verbosity=0)
        if not no_seed:
            self._print_logins(port)
        if check:
            return
        self._run(port, addr, no_worker, no_reload)

    def _describe_services(self):
        data = embedded.data_dir()
        for label, variable in (("PostgreSQL", "DATABASE_URL"), ("Redis", "REDIS_URL")):
            where = f"embedded, data in {data}" if variable in embedded.started else f"{variable} from the environment"
            self.stdout.write(f"{label}: {where}")

    def _print_logins(self, port):
        def url(host, path):
            return f"http://{host or settings.BASE_DOMAIN}:{port}{path}"

        logins = seed_demo(url)
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
        from honcho.printer import Printer

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        python = sys.executable
        data = embedded.data_dir()
        data.mkdir(parents=True, exist_ok=True)
        manager = Manager(Printer(sys.stdout))
        reload_flag = " --noreload" if no_reload else ""
        manager.add_process("web", f"{python} manage.py runserver {addr}:{port}{reload_flag}", env=env,
                            cwd=str(settings.BASE_DIR))
        if not no_worker:
            manager.add_process("worker", f"{python} -m celery -A config worker --loglevel=INFO --concurrency=2",
                                env=env, cwd=str(settings.BASE_DIR))
            manager.add_process("beat", f"{python} -m celery -A config beat --loglevel=INFO "
                                f"--schedule {data / 'celerybeat-schedule'}", env=env, cwd=str(settings.BASE_DIR))
        manager.loop()
        # 130/143 are Ctrl-C and SIGTERM: a normal way to stop, not a failure.
        if manager.returncode not in (0, 130, 143, None):
            sys.exit(manager.returncode)
