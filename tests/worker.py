"""A real Celery worker for the tests: ``celery -A config worker`` in a subprocess.

A worker in a thread of the test process shared its settings and its lifetime: its database
connection outlived the session, so the test database could not be dropped ("being accessed by
other users") and its shutdown could time out. A subprocess has its own connections and its own
settings (tests/worker_settings.py, told everything through environment variables), and is
stopped, with every session it opened gone, before pytest-django drops the test database.

Each worker consumes the queues of this run (``tests-<run id>`` for the session's worker, a
suffixed one for a worker a single test starts, each with its ``-email``, ``-email_bulk`` and
``-bulk`` siblings: config/task_routes.py), so it never takes a dev server's tasks nor a dev
worker this run's. Pool solo: one task at a time, in each queue's order, which ``ping`` relies on.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 90  # a cold start imports Django, Celery and anymail on a loaded machine
STOP_SECONDS = 30


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail with its last value after ``timeout``.

    The timeout only bounds a failure: a passing wait returns as soon as the event happened.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        time.sleep(interval)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL naming the database of ``settings_dict`` (the test database, once created)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = quote(settings_dict.get("HOST") or "", safe="")  # a socket directory is percent-encoded
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(settings_dict['NAME'], safe='')}"


class Worker:
    """One worker subprocess on its own queue of this run. Its output goes to ``log_path``; the
    workers alive when a test fails have the end of theirs in its report (tests/conftest.py)."""

    running: list["Worker"] = []

    def __init__(self, queue: str, env: dict[str, str] | None = None, log_dir: Path | None = None):
        self.queue = queue
        self.name = f"tests-worker-{queue}"
        self.log_path = (log_dir or Path(tempfile.mkdtemp(prefix="tp-worker-"))) / f"{queue}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            # pytest-django renamed the database in this process's settings to the test database.
            "DATABASE_URL": database_url(connection.settings_dict),
            # Each task closes its connection: nothing is left open between tasks or at exit.
            "DB_CONN_MAX_AGE": "0",
            "TP_TEST_QUEUE": queue,
            "TP_TEST_WORKER_NAME": self.name,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    @property
    def queues(self) -> list[str]:
        """The four queues of this worker: ``queue`` for default work and its routed siblings."""
        from config.task_routes import KINDS

        return [self.queue if kind == "default" else f"{self.queue}-{kind}" for kind in KINDS]

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> "Worker":
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--queues",
            ",".join(self.queues),
            "--hostname",
            f"{self.name}@%h",
            "--include",
            "tests.worker_tasks",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel",
            # WARNING keeps the suite's reports short; a test reading the worker's log lines asks
            # for more through start_worker(TP_TEST_WORKER_LOGLEVEL="DEBUG").
            self.env.get("TP_TEST_WORKER_LOGLEVEL", "WARNING"),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        Worker.running.append(self)
        try:
            self.ping(timeout=READY_SECONDS)
        except AssertionError:
            self.stop()
            raise AssertionError(f"no answer to a ping within {READY_SECONDS}s:\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def ping(self, timeout: float = 30.0) -> dict:
        """Enqueue a ping on each of this worker's queues and wait until all ran: every task enqueued
        on them before this call has run by then. Returns where the default queue's ping ran
        ({"schema", "pid"}): called in a tenant's context, the ping runs in its schema like any
        task sent from there.

        A task that enqueues others (a fan-out, a retry after a backoff) needs a ping per level, and a
        retry's countdown has to have passed: wait for the row's state for those."""
        from tests.worker_tasks import ping, read_report

        tokens = {queue: uuid.uuid4().hex for queue in self.queues}
        for queue, token in tokens.items():
            ping.apply_async((token,), queue=queue)

        def answered():
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited with {self.process.returncode}:\n{self.log()}")
            reports = [read_report(token) for token in tokens.values()]
            return all(reports) and reports[0]

        return wait_until(answered, timeout)

    def stop(self) -> None:
        """Warm shutdown (the task at hand finishes), SIGKILL past STOP_SECONDS; then wait until the
        worker's database sessions are gone, so the test database can be dropped."""
        if self.process is None:
            return
        if self in Worker.running:
            Worker.running.remove(self)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)
        wait_until(lambda: not self.database_sessions(), timeout=STOP_SECONDS)

    def database_sessions(self) -> int:
        """Sessions this worker still has in the test database (a killed client's backend ends a
        moment after its socket closes)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = %s",
                [self.name],
            )
            return cursor.fetchone()[0]

    def exit_code(self, timeout: float = 30.0) -> int:
        """Wait until the process has exited (e.g. SIGKILLed by the fake provider); its return code
        (-9 for SIGKILL)."""
        wait_until(lambda: self.process.poll() is not None, timeout)
        return self.process.returncode


@contextmanager
def publishing_to(queue: str):
    """Tasks this process sends while inside go to ``queue`` (a single test's worker), including
    those an on_commit callback sends when a transaction commits inside."""
    default = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield
    finally:
        app.conf.task_default_queue = default


def session_queue() -> str:
    return settings.CELERY_TASK_DEFAULT_QUEUE


def delete_run_queues() -> None:
    """Remove what this run left in the broker's Redis database, and nothing else: its queues (and
    kombu's bindings of them), and unacknowledged messages of them (a killed worker's). Every name
    carries the run id, which no one else's names do."""
    import json

    from redis import Redis

    run_id = settings.RUN_ID
    url = app.conf.broker_url.replace("redis+socket://", "unix://")
    client = Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"*tests-{run_id}*", count=500):
            client.delete(key)
        for tag, payload in client.hscan_iter("unacked", count=500):
            try:
                _message, exchange, routing_key = json.loads(payload)
            except (ValueError, TypeError):
                continue
            if run_id in f"{exchange} {routing_key}":
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()
