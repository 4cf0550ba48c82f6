"""Scale: routing, migrations and catalog size as the number of tenants grows (issue 11).

    nice -n 10 uv run python bench/scale.py [--tenants 10,1000,10000] [--serve-at 10,10000]
        [--migrate-at 1000,10000] [--migrate-cap 300] [--seconds 10] [--rounds 2] [--keep] [--reuse]

Works in a scratch database of its own, ``<DATABASE_URL's name>_scale`` on the same server
(created, migrated, and dropped at the end unless --keep; --reuse starts from what a --keep run
left, so a 10,000-tenant step is built once), under bench/settings_scale.py
(production settings plus a bench-only tenant app for the migration timings). Grows one set of
tenants through the --tenants steps, and at each step prints:

- **build**: the tenants missing, made the way the template path of tenants/pool.py makes a schema
  (the template image replayed under the tenant's name), in --build-connections parallel
  connections, then the Tenant and Domain rows in bulk; seconds in all and per tenant. No owner
  is created: the page measured needs none.
- **catalog**: pg_class and pg_attribute rows, bytes of the pg_catalog tables, and the database's
  size (pg_database_size), in all and per tenant above the empty platform.
- at the --serve-at steps, **round trips**: a tenant page (the sign-in page) requested in process
  through Django's test client over up to --sample hosts, with the host cache cold (a database
  lookup), with only Redis warm (a new process), and warm; per request, the SQL queries Django
  sees, the database round trips psycopg sends (with search_path and health checks), and the
  Redis round trips and commands.
- at the --serve-at steps, **serving**: the same page under gunicorn (platform/gunicorn.conf.py,
  --workers gthread workers, one by default: a gthread worker keeps every keep-alive connection
  it accepts, and of two workers one often takes all of wrk's connections when a run starts, so
  consecutive runs of one unchanged server measured 920 and 370 requests per second: two workers
  measure that accept race, not routing) loaded by ``wrk`` (1 thread, --connections connections), each request
  to a host drawn at random from all the step's tenants, then from the first 10 only, and the
  fixed-schema baseline: the same server with the tenant middleware replaced by one that serves
  one tenant for every host without a lookup (bench/scale_app/fixed.py). Redis holds every host's
  entry beforehand, and each server is first warmed by one request to every host in turn, so the
  process's own copy holds them all: the steady state of a process that has served these tenants
  for a while, not the first request of each host. Rounds alternate the servers; the median round
  is kept.
- at the --migrate-at steps, **migrations**: wall time of ``manage.py migrate_tenants`` against
  ``migrate_schemas --tenant`` with the standard and the multiprocessing executors, with nothing to
  do and with one new AddField (a nullable column, a temporary migration of the bench app, one new
  migration per executor). A baseline still running after --migrate-cap seconds is stopped and
  reported as "> cap", with the schemas it had started; the schemas it left behind are migrated
  off the clock before the next measurement.

Uses DATABASE_URL (a PostgreSQL server where it may create a database) and REDIS_URL/CACHE_URL;
its cache keys carry a prefix of the run's own, deleted at the end. Run it under ``nice``: the
machine's other users keep their share. Measures and prints; never passes or fails on a number.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import free_port, production_env, run_wrk, wait_ready  # noqa: E402

SLUG = "scale-{:05d}"
PAGE = "/accounts/sign-in/"
BASE_DOMAIN = "localhost"
MIGRATIONS_PACKAGE = "bench_scale_migrations"

INITIAL_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Marker",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("note", models.CharField(blank=True, max_length=20)),
            ],
        ),
    ]
"""

ADD_FIELD_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scale_app", "{previous}")]
    operations = [migrations.AddField("marker", "{field}", models.IntegerField(null=True))]
"""

# Each request to a host drawn at random from BENCH_HOSTS (a file, one host a line).
WRK_SCRIPT = """
local hosts = {}
for line in io.lines(os.getenv("BENCH_HOSTS")) do hosts[#hosts + 1] = line end
local path = os.getenv("BENCH_PATH")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", path, {["Host"] = hosts[math.random(#hosts)], ["X-Forwarded-Proto"] = "https"})
end
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    numbers = lambda text: sorted({int(n) for n in text.split(",") if n})  # noqa: E731
    parser.add_argument(
        "--tenants", type=numbers, default=[10, 1000, 10000], help="steps, e.g. 10,1000,10000"
    )
    parser.add_argument(
        "--serve-at", type=numbers, default=None, help="steps that serve (default: first, last)"
    )
    parser.add_argument(
        "--migrate-at", type=numbers, default=None, help="steps that migrate (default: all > 10)"
    )
    parser.add_argument("--migrate-cap", type=float, default=300, help="seconds before a baseline is stopped")
    parser.add_argument(
        "--processes", type=int, default=2, help="migrate_tenants --processes, and django-tenants'"
    )
    parser.add_argument("--build-connections", type=int, default=2, help="parallel schema replays")
    parser.add_argument(
        "--workers", type=int, default=1, help="gunicorn workers (gthread, 4 threads); see the docstring"
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk load per measurement")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--rounds", type=int, default=2, help="serving rounds (the median is kept)")
    parser.add_argument("--sample", type=int, default=100, help="hosts requested in process per pass")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse", action="store_true", help="start from the scratch database a --keep run left (its tenants)"
    )
    args = parser.parse_args()
    if args.serve_at is None:
        args.serve_at = sorted({args.tenants[0], args.tenants[-1]})
    if args.migrate_at is None:
        args.migrate_at = [n for n in args.tenants if n > 10] or args.tenants[-1:]
    return args


def say(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- The scratch database and the run's environment ------------------------------------------------


def scratch_url(url: str) -> tuple[str, str, str]:
    """(scratch database URL, its name, the maintenance database URL) from DATABASE_URL."""
    base, _, name = url.rstrip("/").rpartition("/")
    name = name.split("?")[0]
    return f"{base}/{name}_scale", f"{name}_scale", f"{base}/postgres"


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True, capture_output=True)


def run_environment(url: str, migrations_dir: Path, prefix: str, processes: int) -> dict[str, str]:
    env = production_env()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings_scale",
        DATABASE_URL=url,
        BENCH_SCALE_MIGRATIONS=MIGRATIONS_PACKAGE,
        PYTHONPATH=os.pathsep.join([str(migrations_dir), str(ROOT), env.get("PYTHONPATH", "")]),
        CACHE_KEY_PREFIX=prefix,
        BENCH_PROCESSES=str(processes),
    )
    return env


# --- Building tenants ------------------------------------------------------------------------------


def build_tenants(start: int, stop: int, image_sql: str, connections: int) -> dict:
    """Tenants ``start`` to ``stop - 1``: schemas replayed from the image in parallel, then rows."""
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from tenants import limits, pool
    from tenants.models import Domain, Tenant

    schemas = [SLUG.format(i).replace("-", "_") for i in range(start, stop)]
    db = connection.settings_dict
    conninfo = {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"], "dbname": db["NAME"]}
    if db.get("PASSWORD"):
        conninfo["password"] = db["PASSWORD"]
    done = [0]
    errors = []
    lock = threading.Lock()

    def replay(names):
        try:
            with psycopg.connect(**conninfo, cursor_factory=psycopg.ClientCursor) as conn:
                # A bench's schemas: a crash may lose the last commits, no waiting on the disk for each.
                conn.execute("SET synchronous_commit = off")
                conn.commit()
                for name in names:
                    with conn.transaction():
                        conn.execute(pool.TEMPLATE_NAME_RE.sub(name, image_sql))
                    with lock:
                        done[0] += 1
                        if done[0] % 250 == 0 or done[0] == len(schemas):
                            say(f"  schemas {done[0]}/{len(schemas)}")
        except Exception as exc:  # reported after the join: a thread's error is not lost
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=replay, args=(schemas[i::connections],)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    schemas_seconds = time.perf_counter() - started

    started = time.perf_counter()
    plan = settings.TENANT_DEFAULT_PLAN
    now = timezone.now()
    tenants = Tenant.objects.bulk_create(
        [
            Tenant(
                schema_name=schema,
                slug=SLUG.format(i),
                name=f"Scale {i}",
                plan=plan,
                **limits.plan_defaults(plan),
            )
            for i, schema in zip(range(start, stop), schemas, strict=True)
        ],
        batch_size=1000,
    )
    Domain.objects.bulk_create(
        [Domain(domain=t.primary_host, tenant=t, is_primary=True, verified_at=now) for t in tenants],
        batch_size=1000,
    )
    rows_seconds = time.perf_counter() - started
    return {"made": stop - start, "schemas_s": schemas_seconds, "rows_s": rows_seconds}


def hosts(count: int) -> list[str]:
    return [f"{SLUG.format(i)}.{BASE_DOMAIN}" for i in range(count)]


def warm_redis(names: list[str]) -> float:
    """Fill the shared host cache for every host, as a platform in its steady state has it."""
    from tenants.routing import tenant_for_host

    started = time.perf_counter()
    for name in names:
        tenant_for_host(name)
    return time.perf_counter() - started


# --- Catalog size -----------------------------------------------------------------------------------


def catalog() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute),"
            " (SELECT sum(pg_total_relation_size(oid)) FROM pg_class"
            "   WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'),"
            " pg_database_size(current_database())"
        )
        pg_class, pg_attribute, catalog_bytes, database_bytes = cursor.fetchone()
    return {
        "pg_class": pg_class,
        "pg_attribute": pg_attribute,
        "catalog_bytes": int(catalog_bytes),
        "database_bytes": int(database_bytes),
    }


# --- Round trips, in process -------------------------------------------------------------------------


class RoundTrips:
    """Counts what leaves the process: psycopg statements (each one a database round trip, whether
    Django's cursor wrapper sees it or not: SET search_path, the health check) and Redis packets
    sent (a pipeline is one)."""

    def __init__(self):
        import psycopg
        import redis.connection

        self.db = self.redis = 0
        counter = self

        def wrap(cls, name, field):
            original = getattr(cls, name)

            def counted(*args, **kwargs):
                setattr(counter, field, getattr(counter, field) + 1)
                return original(*args, **kwargs)

            setattr(cls, name, counted)

        wrap(psycopg.Cursor, "execute", "db")
        wrap(psycopg.Cursor, "executemany", "db")
        wrap(redis.connection.AbstractConnection, "send_packed_command", "redis")

    def snapshot(self):
        return self.db, self.redis


def count_round_trips(names: list[str]) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tenants import host_cache

    client = Client()
    counter = ROUND_TRIPS

    def request(host):
        before = counter.snapshot()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(PAGE, headers={"host": host, "x-forwarded-proto": "https"})
        after = counter.snapshot()
        if response.status_code != 200:
            raise SystemExit(f"{host}{PAGE} answered {response.status_code}")
        return (len(queries), *(a - b for a, b in zip(after, before, strict=True)))

    def average(rows):
        return tuple(sum(column) / len(rows) for column in zip(*rows, strict=True))

    request(names[0])  # the process's first request: imports, templates, connections
    host_cache.forget(names)
    host_cache.local_copy.clear()
    cold = [request(name) for name in names]
    redis_only = []
    for name in names:
        host_cache.local_copy.clear()
        redis_only.append(request(name))
    for name in names:  # every host into the process's copy, which the pass above kept emptying
        request(name)
    warm = [request(name) for name in names]
    return {
        "cold": average(cold),
        "Redis warm, process copy empty": average(redis_only),
        "warm": average(warm),
    }


def cpu_per_request(names: list[str], rounds: int) -> dict:
    """CPU milliseconds of this process per warm request, tenant routing against the fixed-schema
    middleware, in alternating rounds: on a machine whose load moves, CPU time moves much less than
    requests per second do. Both include the test client's own work, the same for both."""
    from django.conf import settings
    from django.test import Client, override_settings

    fixed = [
        "bench.scale_app.fixed.FixedTenantMiddleware"
        if name == "tenants.middleware.TenantHostMiddleware"
        else name
        for name in settings.MIDDLEWARE
    ]
    os.environ["BENCH_FIXED_SCHEMA"] = SLUG.format(0).replace("-", "_")
    clients = {"tenant routing": Client(), "fixed schema": Client()}
    with override_settings(MIDDLEWARE=fixed):
        clients["fixed schema"].get(PAGE, headers={"host": names[0], "x-forwarded-proto": "https"})
    seconds = dict.fromkeys(clients, 0.0)
    for _ in range(rounds):
        for label, client in clients.items():
            for name in names:  # the first round also fills each client's process state
                started = time.process_time()
                client.get(PAGE, headers={"host": name, "x-forwarded-proto": "https"})
                seconds[label] += time.process_time() - started
    return {label: 1000 * total / (rounds * len(names)) for label, total in seconds.items()}


# --- Serving ----------------------------------------------------------------------------------------


@contextmanager
def gunicorn(env: dict, workers: int):
    port = free_port()
    env = {**env, "WEB_CONCURRENCY": str(workers), "WEB_MAX_REQUESTS": "0", "WEB_LOG_LEVEL": "warning"}
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application",
        "--config", str(ROOT / "platform" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(port: int, hosts_file: Path, script: Path, seconds: int, connections: int) -> dict:
    env = {**os.environ, "BENCH_HOSTS": str(hosts_file), "BENCH_PATH": PAGE}
    return run_wrk(["--script", str(script)], port, PAGE, seconds, connections, env=env)


def warm_up(port: int, names: list[str], connections: int) -> None:
    """One request to every host, over ``connections`` keep-alive connections: what a process
    serving these tenants for a while has, each host in its own copy of the host cache (a few
    seconds of random draws over 10,000 hosts would leave most out, and measure the first request
    of each)."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def request_each(share):
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for host in share:
            client.request("GET", PAGE, headers={"Host": host, "X-Forwarded-Proto": "https"})
            client.getresponse().read()
        client.close()

    with ThreadPoolExecutor(connections) as threads:
        list(threads.map(request_each, [names[i::connections] for i in range(connections)]))


def serve(n: int, env: dict, workdir: Path, args) -> dict[str, dict]:
    """The page under gunicorn: hosts of all n tenants, of the first 10, and the fixed baseline."""
    script = workdir / "spread.lua"
    script.write_text(WRK_SCRIPT)
    files = {}
    for count in sorted({n, min(n, 10)}, reverse=True):
        files[f"{count} tenants"] = workdir / f"hosts-{count}.txt"
        files[f"{count} tenants"].write_text("\n".join(hosts(count)) + "\n")
    fixed_env = {**env, "BENCH_FIXED_SCHEMA": SLUG.format(0).replace("-", "_")}
    rounds: dict[str, list[dict]] = {}
    for number in range(1, args.rounds + 1):
        say(f"  serving round {number}/{args.rounds}: tenant routing")
        with gunicorn(env, args.workers) as port:
            warm_up(port, hosts(n), args.connections)
            for label, path in files.items():
                rounds.setdefault(label, []).append(wrk(port, path, script, args.seconds, args.connections))
        say(f"  serving round {number}/{args.rounds}: fixed schema, no lookup")
        with gunicorn(fixed_env, args.workers) as port:
            warm_up(port, hosts(n), args.connections)
            rounds.setdefault("fixed schema", []).append(
                wrk(port, files[f"{n} tenants"], script, args.seconds, args.connections)
            )
    results = {}
    for label, runs in rounds.items():
        median = sorted(runs, key=lambda run: run["rps"])[len(runs) // 2]
        results[label] = {**median, "errors": sum(run["errors"] for run in runs)}
    return results


# --- Migrations --------------------------------------------------------------------------------------


class Migrations:
    """The bench app's migrations, in the run's temporary package."""

    def __init__(self, directory: Path):
        self.package = directory / MIGRATIONS_PACKAGE
        self.package.mkdir(parents=True)
        (self.package / "__init__.py").write_text("")
        (self.package / "0001_initial.py").write_text(INITIAL_MIGRATION)
        self.names = ["0001_initial"]

    def add_field(self) -> str:
        number = len(self.names) + 1
        name = f"{number:04d}_bench_field_{number}"
        text = ADD_FIELD_MIGRATION.format(previous=self.names[-1], field=f"bench_field_{number}")
        (self.package / f"{name}.py").write_text(text)
        self.names.append(name)
        return name


def timed_command(command: list[str], env: dict, cap: float | None, log: Path) -> dict:
    """Wall time of a manage.py command; stopped (its process group) after ``cap`` seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(cap)
            stopped = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 15)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
            stopped = True
    seconds = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if not stopped and process.returncode:
        say(f"  {' '.join(command)} exited with {process.returncode}:\n{text[-2000:]}")
    return {
        "seconds": cap if stopped else seconds,
        "stopped": stopped,
        "returncode": None if stopped else process.returncode,
        "schemas_started": text.count("=== Starting migration"),
    }


def migrate(
    n: int, env: dict, migrations: Migrations, workdir: Path, args, has_migrate_tenants: bool, results: dict
) -> None:
    """Fills ``results`` as it goes: a failure keeps what was measured."""
    ours = ["migrate_tenants", "--no-input", "--processes", str(args.processes)]
    baseline = ["migrate_schemas", "--tenant", "--noinput", "--executor"]
    commands = {
        "migrate_schemas standard": [*baseline, "standard"],
        "migrate_schemas multiprocessing": [*baseline, "multiprocessing"],
    }
    if has_migrate_tenants:
        commands = {"migrate_tenants": ours, **commands}
    finish = ours if has_migrate_tenants else commands["migrate_schemas multiprocessing"]
    # What every command pays before any work: a Python process that sets Django up.
    say("  a Django start: manage.py shell -c pass")
    results[("fixed cost", "manage.py shell -c pass")] = timed_command(
        ["shell", "-c", "pass"], env, None, workdir / "start.log"
    )
    for label, command in commands.items():
        say(f"  nothing to do: {label}")
        results[("nothing to do", label)] = timed_command(
            command, env, None if label == "migrate_tenants" else args.migrate_cap, workdir / "migrate.log"
        )
    for label, command in commands.items():
        name = migrations.add_field()
        say(f"  one AddField ({name}): {label}")
        result = timed_command(
            command, env, None if label == "migrate_tenants" else args.migrate_cap, workdir / "migrate.log"
        )
        results[("one AddField", label)] = result
        if result["stopped"]:
            say("  finishing the schemas it left, off the clock")
            timed_command(finish, env, None, workdir / "finish.log")


# --- Main --------------------------------------------------------------------------------------------


def main():
    args = parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL must name a PostgreSQL server where the bench may create a database")
    run = uuid.uuid4().hex[:8]
    prefix = f"bench-scale-{run}"
    url, dbname, maintenance = scratch_url(os.environ["DATABASE_URL"])
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    migrations = Migrations(workdir)
    env = run_environment(url, workdir, prefix, args.processes)
    os.environ.update(env)
    sys.path.insert(0, str(workdir))
    say(f"scratch database {dbname}, cache prefix {prefix}, files in {workdir}")
    if not args.reuse:
        psql(maintenance, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        psql(maintenance, f'CREATE DATABASE "{dbname}"')

    import django

    django.setup()
    global ROUND_TRIPS
    ROUND_TRIPS = RoundTrips()
    from django.core.management import call_command, get_commands
    from django.db import connection

    from tenants import pool

    report = {"build": {}, "catalog": {}, "trips": {}, "cpu": {}, "serve": {}, "migrate": {}}
    try:
        built = 0
        if args.reuse:  # before anything migrates: the bench app's files must match the schemas
            built = reused_tenants(migrations)
            say(f"reusing {dbname}: {built} tenants, the bench app at {migrations.names[-1]}")
        started = time.perf_counter()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        image, _ = pool.ensure_template_image()
        say(f"platform migrated and template image built in {time.perf_counter() - started:.1f} s")
        if not args.reuse:
            report["catalog"][0] = catalog()
        has_migrate_tenants = "migrate_tenants" in get_commands()
        for n in args.tenants:
            say(f"step: {n} tenants")
            report["build"][n] = build_tenants(built, n, image.sql, args.build_connections)
            built = max(built, n)
            report["catalog"][n] = catalog()
            if n in args.serve_at:
                say(f"  warming the shared host cache for {n} hosts")
                report["build"][n]["warm_s"] = warm_redis(hosts(n))
                report["trips"][n] = count_round_trips(hosts(min(n, args.sample)))
                report["cpu"][n] = cpu_per_request(hosts(min(n, args.sample)), rounds=5)
                connection.close()
                report["serve"][n] = serve(n, env, workdir, args)
            if n in args.migrate_at:
                connection.close()
                report["migrate"][n] = {}
                migrate(n, env, migrations, workdir, args, has_migrate_tenants, report["migrate"][n])
    finally:
        from django.core.cache import cache

        from tenants import activity

        activity.flush()  # this process's request counts, else written at exit, after the clean-up
        connection.close()
        cache.close()
        forget_keys(prefix)
        if not args.keep:
            psql(maintenance, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
        say("cleaned up" + (f" (kept {dbname})" if args.keep else ""))
        # What was measured before a failure is printed too.
        print_report(report, args, "migrate_tenants" in get_commands())


def reused_tenants(migrations: "Migrations") -> int:
    """A --reuse run: how many bench tenants the kept database has, and the bench app's
    migrations written again up to the last one its first tenant recorded (the same names
    and fields as the run that applied them), so its schemas are up to date with this run."""
    from django.db import connection

    from tenants.models import Tenant

    first = SLUG.format(0).replace("-", "_")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {first}.django_migrations WHERE app = 'scale_app' ORDER BY name")
        recorded = [name for (name,) in cursor.fetchall()]
    while recorded and migrations.names[-1] != recorded[-1]:
        migrations.add_field()
    return Tenant.objects.filter(slug__startswith=SLUG.split("{")[0]).count()


def forget_keys(prefix: str) -> None:
    """Delete the run's keys (cache entries, activity counters) from REDIS_URL's and CACHE_URL's
    databases: other users' keys there are not ours to touch."""
    import redis
    from django.conf import settings

    for url in {settings.REDIS_URL, settings.CACHE_URL}:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])


ROUND_TRIPS = None


def print_report(report: dict, args, has_migrate_tenants: bool) -> None:
    print(f"\nbench/scale.py --tenants {','.join(map(str, args.tenants))}, {os.cpu_count()} cores")
    print("\nBuild (template image replayed, rows in bulk):")
    print(f"{'tenants':>8}{'made':>7}{'schemas s':>11}{'rows s':>9}{'ms/tenant':>11}{'cache warm s':>14}")
    for n, row in report["build"].items():
        per = 1000 * (row["schemas_s"] + row["rows_s"]) / max(1, row["made"])
        warm = f"{row['warm_s']:.1f}" if "warm_s" in row else "-"
        print(f"{n:>8}{row['made']:>7}{row['schemas_s']:>11.1f}{row['rows_s']:>9.2f}{per:>11.1f}{warm:>14}")

    base = report["catalog"].get(0)  # none in a --reuse run: no per-tenant figures then
    print("\nCatalog and database size (per tenant: above the platform with no tenant):")
    print(
        f"{'tenants':>8}{'pg_class':>10}{'pg_attr':>10}{'catalog MB':>12}{'database MB':>13}"
        f"{'class/t':>9}{'attr/t':>8}{'catalog kB/t':>14}{'db kB/t':>9}"
    )
    for n, row in report["catalog"].items():

        def per(key, row=row, n=n):
            return (row[key] - base[key]) / n if n and base else float("nan")

        print(
            f"{n:>8}{row['pg_class']:>10}{row['pg_attribute']:>10}{row['catalog_bytes'] / 2**20:>12.1f}"
            f"{row['database_bytes'] / 2**20:>13.1f}{per('pg_class'):>9.0f}{per('pg_attribute'):>8.0f}"
            f"{per('catalog_bytes') / 1024:>14.1f}{per('database_bytes') / 1024:>9.1f}"
        )

    if report["trips"]:
        print(f"\nPer request of {PAGE}, in process, averaged over up to {args.sample} hosts:")
        print(f"{'tenants':>8}  {'host cache':<32}{'SQL':>6}{'DB trips':>10}{'Redis trips':>13}")
        for n, rows in report["trips"].items():
            for label, (sql, db, trips) in rows.items():
                print(f"{n:>8}  {label:<32}{sql:>6.2f}{db:>10.2f}{trips:>13.2f}")

    if report["cpu"]:
        print("\nCPU of the process per warm request, in process (5 alternating rounds):")
        print("(tenant vs fixed: the requests one CPU second serves, tenant routing over the fixed schema)")
        print(f"{'tenants':>8}{'tenant routing ms':>19}{'fixed schema ms':>17}{'tenant vs fixed':>17}")
        for n, row in report["cpu"].items():
            ratio = row["fixed schema"] / row["tenant routing"]
            print(f"{n:>8}{row['tenant routing']:>19.2f}{row['fixed schema']:>17.2f}{ratio:>16.2f}x")

    if report["serve"]:
        print(
            f"\nServing {PAGE} (gunicorn gthread x {args.workers}, wrk 1 thread x {args.connections} "
            f"connections, {args.seconds} s, median of {args.rounds} rounds):"
        )
        header = f"{'hosts':<14}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'vs fixed':>10}{'non-2xx':>9}"
        print(f"{'tenants':>8}  {header}")
        first = min(report["serve"])
        for n, rows in report["serve"].items():
            fixed = rows["fixed schema"]["rps"]
            for label, row in rows.items():
                print(
                    f"{n:>8}  {label:<14}{row['rps']:>8.0f}{row['p50']:>9.1f}{row['p99']:>9.1f}"
                    f"{row['rps'] / fixed:>9.2f}x{row['errors']:>9}"
                )
        last = max(report["serve"])
        if last != first:
            ratio = (
                report["serve"][last][f"{last} tenants"]["rps"]
                / report["serve"][first][f"{first} tenants"]["rps"]
            )
            print(f"req/s at {last} tenants / at {first} tenants (separate phases of the run): {ratio:.2f}x")

    if report["migrate"]:
        print(f"\nMigrations over the tenant schemas (cap {args.migrate_cap:.0f} s per baseline run):")
        if not has_migrate_tenants:
            print("(manage.py migrate_tenants is not in this tree: only the baselines ran)")
        print("(a stopped run's estimate: its pace over the schemas it started, times all the tenants)")
        print(f"{'tenants':>8}  {'work':<15}{'command':<34}{'seconds':>9}{'started':>9}{'estimate s':>12}")
        for n, rows in report["migrate"].items():
            for row in rows.values():
                row["estimate"] = row["seconds"]
                if row["stopped"]:
                    row["estimate"] = (
                        row["seconds"] * n / row["schemas_started"] if row["schemas_started"] else None
                    )
            for (work, label), row in rows.items():
                seconds = f"> {row['seconds']:.0f}" if row["stopped"] else f"{row['seconds']:.1f}"
                if not row["stopped"] and row["returncode"]:
                    seconds += f" (exit {row['returncode']})"
                started = row["schemas_started"] if label != "migrate_tenants" else "-"
                estimate = "-" if row["estimate"] is None else f"{row['estimate']:.0f}"
                print(f"{n:>8}  {work:<15}{label:<34}{seconds:>9}{started:>9}{estimate:>12}")
            if has_migrate_tenants and len(rows) == 7:
                for work in ("nothing to do", "one AddField"):
                    ours = rows[(work, "migrate_tenants")]["seconds"]
                    for label in ("migrate_schemas standard", "migrate_schemas multiprocessing"):
                        row = rows[(work, label)]
                        ratio = f"{'>= ' if row['stopped'] else ''}{row['seconds'] / ours:.1f}x"
                        if row["stopped"] and row["estimate"]:
                            ratio += f" (about {row['estimate'] / ours:.0f}x at its pace)"
                        print(f"{'':>8}  {work}: {label} / migrate_tenants = {ratio}")


if __name__ == "__main__":
    main()
