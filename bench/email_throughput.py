"""Email pipeline throughput: queue_email -> Redis -> Celery workers -> the local fake Postmark.

    uv run python bench/email_throughput.py [--messages 500] [--workers 2] [--rate 0]

Starts the fake provider server (tests/outbox/fake_postmark.py) in this process and N Celery
worker processes (`celery -A config worker --pool solo`, one task at a time each) configured by
environment variables to use anymail's Postmark backend against it; queues the messages in a
"bench" tenant, one transaction each; then prints messages per second per worker and the time
from each commit to the provider's acceptance (median, p99). --rate paces the producer
(messages per second, 0 = as fast as it can, which measures the backlog too).

Uses DATABASE_URL / REDIS_URL, or the embedded servers like manage.py. The broker is a Redis
database of its own (BENCH_REDIS_DB, default 14), so a running dev worker never takes these tasks.
Measures and prints; never passes or fails on a number.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second queued; 0 = no pacing")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    return parser.parse_args()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.embedded import ensure_services

    ensure_services()
    from tests.outbox.fake_postmark import FakePostmark

    fake = FakePostmark().start()
    from config.settings import celery_url, redis_url_for_db

    # The workers (and this process) read all of this as environment variables, like production.
    os.environ.update(
        {
            "CELERY_BROKER_URL": celery_url(
                redis_url_for_db(os.environ["REDIS_URL"], int(os.environ.get("BENCH_REDIS_DB", "14")))
            ),
            "EMAIL_PROVIDER": "postmark",
            "POSTMARK_SERVER_TOKEN": "bench-token",
            "POSTMARK_API_URL": fake.url,
            "LOG_LEVEL": "WARNING",
        }
    )

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from config.celery import app
    from tenant_apps.outbox.models import OutboxMessage
    from tenant_apps.outbox.services import queue_email
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    settings.TEMPLATES[0]["DIRS"] = [*settings.TEMPLATES[0]["DIRS"], ROOT / "tests" / "outbox" / "templates"]
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenant = (
        Tenant.objects.filter(slug="bench").first()
        or provision_tenant("bench", "Bench", "owner@bench.test", owner_password="bench-password-1").tenant
    )
    with tenant_context(tenant):
        OutboxMessage.objects.all().delete()
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
                "-n",
                f"bench{i}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
        )
        for i in range(args.workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=1.0) or []) < args.workers:
            if time.monotonic() > deadline:
                sys.exit("the workers did not come up within 60 s")

        committed: dict[str, float] = {}
        started = time.time()
        for i in range(args.messages):
            with tenant_context(tenant), transaction.atomic():
                message = queue_email([f"reader{i}@example.com"], "outboxtest/hello", {"name": f"Reader {i}"})
            committed[message.dedup_key] = time.time()
            if args.rate:
                time.sleep(max(0.0, started + (i + 1) / args.rate - time.time()))
        queued_in = time.time() - started

        deadline = time.monotonic() + args.timeout
        while len(fake.accepted()) < args.messages:
            if time.monotonic() > deadline:
                print(f"timed out: {len(fake.accepted())} of {args.messages} accepted", file=sys.stderr)
                break
            time.sleep(0.05)

        accepted = fake.accepted()
        latencies = [
            s.accepted_at - committed[s.metadata["dedup_key"]]
            for s in accepted
            if s.metadata.get("dedup_key") in committed
        ]
        elapsed = max(s.accepted_at for s in accepted) - started
        rate = len(accepted) / elapsed
        print(
            f"messages:            {len(accepted)} accepted of {args.messages} "
            f"(queued in {queued_in:.2f} s{f', paced at {args.rate:g}/s' if args.rate else ''})"
        )
        print(f"workers:             {args.workers} (solo pool, one task at a time each)")
        print(f"throughput:          {rate:.1f} msg/s in total, {rate / args.workers:.1f} msg/s per worker")
        print(
            f"commit -> accepted:  median {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
        )
        with tenant_context(tenant):
            statuses = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")))
            print(f"outbox rows:         {statuses}")
            OutboxMessage.objects.all().delete()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        fake.stop()


if __name__ == "__main__":
    main()
