"""Provisioning time by path: a ready spare, a copy of the template, migrations.

    uv run python bench/provisioning.py [--tenants 20]

In one run on one database, provisions --tenants tenants through the service
(``tenants.services.provision_tenant``: checks, tenant row, schema, domain, owner, welcome email
queued) by each path of tenants/pool.py, arranging the state each path needs beforehand and
outside the timing: the pool filled with as many spares (pool path); the pool empty, the template
image present (template path); neither (migration path: django-tenants' ``create_schema``, what
``auto_create_schema`` runs). Then times the schema copy alone, our image replay against
django-tenants' ``clone_schema`` of the same template. Prints median and p95 seconds of each and
the ratios, and deletes every tenant and schema it made.

Uses DATABASE_URL / REDIS_URL, or the embedded servers like manage.py. The welcome emails go to a
Celery queue of this run's own, deleted at the end: no worker, the run's or anyone's, sends them.
Measures and prints; never passes or fails on a number.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIX = "bench-prov"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=20, help="tenants per path (the goals: 20 or more)")
    return parser.parse_args()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def progress(label, done, total):
    sys.stderr.write(f"\r{label}: {done}/{total}" + ("\n" if done == total else ""))
    sys.stderr.flush()


def main():
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from config.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django_tenants.clone import CloneSchema

    from config.celery import app
    from tenants import pool
    from tenants.models import SchemaImage, Tenant
    from tenants.services import delete_tenant, provision_tenant, purge_tenant

    queue = f"bench-provisioning-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    call_command("migrate_schemas", interactive=False, verbosity=0)

    def clean():
        for tenant in Tenant.objects.filter(slug__startswith=PREFIX):
            purge_tenant(delete_tenant(tenant))  # deleting is soft; the bench drops them now
        pool.drop_spares()

    def provision_all(path):
        seconds = []
        for i in range(args.tenants):
            started = time.perf_counter()
            tenant = provision_tenant(f"{PREFIX}-{path}-{i}", f"Bench {i}", f"owner{i}@bench.test").tenant
            seconds.append(time.perf_counter() - started)
            if tenant.schema_path != path:
                raise SystemExit(f"expected the {path} path, got {tenant.schema_path}")
            progress(f"{path:>10}", i + 1, args.tenants)
        return seconds

    def copy_all(label, copy):
        seconds = []
        for i in range(args.tenants):
            schema = f"_bench_{label}_{i}"
            with transaction.atomic():
                started = time.perf_counter()
                copy(schema)
                seconds.append(time.perf_counter() - started)
                transaction.set_rollback(True)  # measured, then undone: nothing to clean
            progress(f"{label:>10}", i + 1, args.tenants)
        return seconds

    pool.current_migration_state()  # loaded once per process, as in a web worker
    clean()
    results = {}
    try:
        # Pool path: as many spares as tenants, made before the clock starts.
        pool.refill_pool(args.tenants, progress=lambda done, total: progress("   refill", done, total))
        results["pool"] = provision_all("pool")
        # Template path: the pool is empty, the image of the current migrations is there.
        pool.drop_spares()
        image, _ = pool.ensure_template_image()
        results["template"] = provision_all("template")
        # Migration path: no spare and no image.
        SchemaImage.objects.all().delete()
        results["migrations"] = provision_all("migrations")
        # The schema copy alone: our replay of the image against django-tenants' clone_schema.
        image, _ = pool.ensure_template_image()
        copies = {
            "replay": copy_all("replay", lambda schema: pool.replay_image(image.sql, schema)),
            "clone": copy_all(
                "clone",
                lambda schema: CloneSchema().clone_schema(pool.TEMPLATE_SCHEMA, schema, set_connection=False),
            ),
        }
    finally:
        clean()
        if not SchemaImage.objects.exists():
            pool.ensure_template_image()
        with app.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)
        connection.close()

    medians = {path: statistics.median(values) for path, values in results.items()}
    print(
        f"\nProvisioning through tenants.services.provision_tenant, {args.tenants} tenants per path, "
        f"database {connection.settings_dict['NAME']}:"
    )
    print(f"{'path':<12}{'median s':>10}{'p95 s':>10}{'migrations / path':>20}")
    for path, values in results.items():
        print(
            f"{path:<12}{medians[path]:>10.4f}{percentile(values, 0.95):>10.4f}"
            f"{medians['migrations'] / medians[path]:>19.1f}x"
        )
    print(f"\nSchema copy alone (the template path's step), {args.tenants} copies each:")
    print(f"{'method':<32}{'median s':>10}{'p95 s':>10}")
    names = {"replay": "our image replay (pg_dump SQL)", "clone": "django-tenants clone_schema"}
    for method, values in copies.items():
        print(f"{names[method]:<32}{statistics.median(values):>10.4f}{percentile(values, 0.95):>10.4f}")
    ratio = statistics.median(copies["clone"]) / statistics.median(copies["replay"])
    print(f"clone_schema / replay: {ratio:.1f}x")


if __name__ == "__main__":
    main()
