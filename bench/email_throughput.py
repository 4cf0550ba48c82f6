"""Email pipeline throughput: queue_email -> Redis -> Celery workers -> the local fake Postmark.

    uv run python bench/email_throughput.py [--messages 500] [--singles 30] [--workers 1] [--rate 0]
                                            [--tenants 1] [--baseline] [--profile PATH]

Starts the fake provider server (tests/outbox/fake_postmark.py) in this process and N Celery
worker processes (`celery -A config worker --pool solo -Q email,email_bulk,default`, one task at
a time each) configured by environment variables to use anymail's Postmark backend against it.
Then, in a "bench" tenant (or spread round robin over --tenants tenants, "bench", "bench-2", ...),
one transaction per message (transactional mail, the `email` queue):

1. idle: --singles messages one at a time, each queued once the previous one was accepted, so the
   workers are idle: commit-to-acceptance p50/p99 of a single message;
2. burst: --messages queued as fast as the producer can (or at --rate per second) while the
   workers run: commit-to-acceptance p50/p99 as a sender sees it;
3. drain: the workers stop consuming (remote control), --messages are queued, the workers resume:
   messages per second per worker from the resume to the last acceptance (the producer, one
   process rendering and committing, cannot outrun the workers otherwise), and the workers' CPU
   time (user + system, from /proc) per message.

--baseline runs the workers as before issue 12's changes that a setting can undo: no tenant
cache (CELERY_TASK_TENANT_CACHE_SECONDS=0), a database connection per task (DB_CONN_MAX_AGE=0,
so Celery closes it around every task) and one email per provider call (OUTBOX_BATCH_SIZE=1).
The single-statement claim and the drains (one task per schema's burst instead of one per email)
are not switchable: compare with an earlier commit for them (bench/RESULTS.md). --profile writes
each worker's cProfile stats to PATH.<n>.

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
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--singles", type=int, default=30, help="messages sent one at a time on idle workers")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tenants", type=int, default=1, help="messages spread round robin over this many")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="tasks at once per worker: 1 = pool solo, more = pool threads",
    )
    parser.add_argument("--baseline", action="store_true", help="no tenant cache, a connection per task")
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second queued; 0 = no pacing")
    parser.add_argument("--profile", default="", help="write each worker's cProfile stats to <this>.<n>")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    return parser.parse_args()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    if args.baseline:
        os.environ.update(
            {"CELERY_TASK_TENANT_CACHE_SECONDS": "0", "DB_CONN_MAX_AGE": "0", "OUTBOX_BATCH_SIZE": "1"}
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
    tenants = []
    for n in range(1, args.tenants + 1):
        slug = "bench" if n == 1 else f"bench-{n}"
        tenant = (
            Tenant.objects.filter(slug=slug).first()
            or provision_tenant(
                slug, f"Bench {n}", f"owner@{slug}.test", owner_password="bench-password-1"
            ).tenant
        )
        with tenant_context(tenant):
            OutboxMessage.objects.all().delete()
        tenants.append(tenant)
    from config.task_routes import all_queue_names

    queues = all_queue_names()
    with app.connection_for_write() as conn:
        for queue in queues:
            conn.default_channel.queue_purge(queue)

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                *(["-m", "cProfile", "-o", f"{args.profile}.{i}"] if args.profile else []),
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo" if args.concurrency == 1 else "threads",
                "--concurrency",
                str(args.concurrency),
                "-Q",
                ",".join(queues),
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

        def queue_one(i):
            with tenant_context(tenants[i % len(tenants)]), transaction.atomic():
                message = queue_email([f"reader{i}@example.com"], "outboxtest/hello", {"name": f"Reader {i}"})
            return message.dedup_key

        def wait_for(count):
            deadline = time.monotonic() + args.timeout
            while len(fake.accepted()) < count:
                if time.monotonic() > deadline:
                    print(f"timed out: {len(fake.accepted())} of {count} accepted", file=sys.stderr)
                    return
                time.sleep(0.002)

        def latencies_of(committed):
            return [
                s.accepted_at - committed[s.metadata["dedup_key"]]
                for s in fake.accepted()
                if s.metadata.get("dedup_key") in committed
            ]

        def ms(values):
            return (
                f"p50 {statistics.median(values) * 1000:.1f} ms, p99 {percentile(values, 0.99) * 1000:.1f} ms"
            )

        # 1. Idle: one message at a time (the first one warms the workers up and is not counted).
        wait_for(0)
        queue_one(-1)
        wait_for(1)
        singles: dict[str, float] = {}
        for i in range(args.singles):
            key = queue_one(i)
            singles[key] = time.time()
            wait_for(2 + i)
        idle = latencies_of(singles)

        # 2. Burst.
        before = len(fake.accepted())
        committed: dict[str, float] = {}
        started = time.time()
        for i in range(args.messages):
            committed[queue_one(i)] = time.time()
            if args.rate:
                time.sleep(max(0.0, started + (i + 1) / args.rate - time.time()))
        queued_in = time.time() - started
        wait_for(before + args.messages)
        burst = [s for s in fake.accepted()[before:] if s.metadata.get("dedup_key") in committed]
        latencies = latencies_of(committed)

        # 3. Drain a backlog queued while the workers did not consume.
        email_queue = queues[1]
        app.control.cancel_consumer(email_queue, reply=True)
        before = len(fake.accepted())
        backlog = {queue_one(i) for i in range(args.messages)}
        cpu_before = sum(cpu_seconds(w.pid) for w in workers)
        resumed = time.time()
        app.control.add_consumer(email_queue, reply=True)
        wait_for(before + args.messages)
        cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
        drained = [s for s in fake.accepted()[before:] if s.metadata.get("dedup_key") in backlog]
        rate = len(drained) / (max(s.accepted_at for s in drained) - resumed)
        mode = (
            "baseline (no tenant cache, a connection per task, one email per call)"
            if args.baseline
            else "default settings"
        )
        print(f"mode:                {mode}")
        print(f"tenants:             {len(tenants)}")
        pool = "solo pool" if args.concurrency == 1 else f"threads pool, {args.concurrency} threads"
        print(f"workers:             {args.workers} ({pool} each)")
        print(f"idle, one at a time: {len(idle)} messages, commit -> accepted {ms(idle)}")
        print(
            f"burst:               {len(burst)} accepted of {args.messages} "
            f"(queued in {queued_in:.2f} s{f', paced at {args.rate:g}/s' if args.rate else ''})"
        )
        print(f"burst latency:       commit -> accepted {ms(latencies)}, max {max(latencies) * 1000:.1f} ms")
        print(
            f"drain throughput:    {len(drained)} messages, {rate:.1f} msg/s in total, "
            f"{rate / args.workers:.1f} msg/s per worker"
        )
        print(f"worker CPU:          {cpu / max(len(drained), 1) * 1000:.2f} ms per message (user + system)")
        calls = {s.call for s in fake.submissions}
        print(f"provider calls:      {len(calls)} for {len(fake.submissions)} emails")
        statuses = Counter()
        for tenant in tenants:
            with tenant_context(tenant):
                statuses.update(dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id"))))
                OutboxMessage.objects.all().delete()
        print(f"outbox rows:         {dict(statuses)}")
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
