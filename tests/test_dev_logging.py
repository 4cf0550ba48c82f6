"""A quiet console: beat's every-minute jobs say something only when they did something
(config/quiet_tasks.py), on a real worker reading its own log lines."""

import logging
import re

import pytest
from django.conf import settings

from config.quiet_tasks import QuietPeriodicTasks
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.outbox.tasks import recover_all_tenants
from tests.outbox.rows import wait_for_status
from tests.outbox.test_recovery import backdate, broker_down, queue_hello
from tests.worker import publishing_to, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LEVEL = re.compile(r"\b(debug|info|warning|error)\b", re.IGNORECASE)


def level_of(line: str) -> str:
    return LEVEL.search(line).group(1).lower()


def lines_about(worker, text: str) -> list[str]:
    return [line for line in worker.log_path.read_text().splitlines() if text in line]


def run_recovery(worker) -> list[str]:
    """Beat's recovery job on ``worker``: the fan-out, then one recover_stalled per active tenant.
    Their "succeeded" lines, at DEBUG, are the positive event the absence checks wait for; returns
    Celery's routine lines about them."""
    with publishing_to(worker.queue):
        recover_all_tenants.delay()
    fanned_out = wait_until(
        lambda: [
            line for line in lines_about(worker, "Task outbox.recover_all_tenants") if "succeeded" in line
        ]
    )
    # "Task outbox.recover_all_tenants[<id>] succeeded in 0.01s: 2": how many tenants it fanned out to.
    tenants = int(re.search(r"succeeded in [\d.e-]+s: (\d+)", fanned_out[0]).group(1))
    assert tenants >= 2  # acme and globex at least

    def recovered():
        done = [line for line in lines_about(worker, "Task outbox.recover_stalled[") if "succeeded" in line]
        return len(done) == tenants

    wait_until(recovered, timeout=30)
    return lines_about(worker, "Task outbox.recover")


def test_the_recovery_job_with_nothing_to_do_says_nothing_at_info(
    start_worker, clean_outbox, tenant, other_tenant
):
    worker = start_worker(TP_TEST_WORKER_LOGLEVEL="DEBUG")
    routine = run_recovery(worker)

    # Received and succeeded, for the fan-out and for each tenant: all there, all at DEBUG.
    assert {level_of(line) for line in routine} == {"debug"}, routine
    assert not [line for line in worker.log_path.read_text().splitlines() if "recovery in" in line]


def test_the_recovery_job_that_recovered_an_email_says_so_once(
    start_worker, clean_outbox, email_settings, tenant, other_tenant
):
    with broker_down():
        message = queue_hello(tenant)  # its task never reached a queue: the recovery's work
    backdate(message.public_id, next_attempt_at=settings.OUTBOX_QUEUED_GRACE_SECONDS + 1)
    worker = start_worker(TP_TEST_WORKER_LOGLEVEL="DEBUG")
    run_recovery(worker)

    said = lines_about(worker, "outbox recovery in acme: 1 late queued, 0 stuck sending re-queued")
    # A recovery means a broker or a worker was lost: a warning, once, naming the tenant.
    assert [level_of(line) for line in said] == ["warning"], worker.log()
    assert not lines_about(worker, "outbox recovery in globex")
    # The email it re-enqueued is no periodic job: Celery's own lines for it stay at INFO.
    wait_until(lambda: lines_about(worker, "Task outbox.send_queued["), timeout=30)
    assert level_of(lines_about(worker, "Task outbox.send_queued[")[0]) == "info"


@pytest.mark.parametrize("level, shown", [(logging.INFO, False), (logging.DEBUG, True)])
def test_a_routine_line_of_a_periodic_job_is_debug(level, shown):
    """The filter alone: what `celery worker --loglevel=INFO` and `--loglevel=DEBUG` print."""
    from celery.app import trace

    logger = logging.getLogger("celery.app.trace")
    previous = logger.level
    logger.setLevel(level)
    try:
        periodic = logger.makeRecord(
            logger.name,
            logging.INFO,
            __file__,
            1,
            trace.LOG_SUCCESS,
            ({"name": "tenants.refill_pool"},),
            None,
        )
        other = logger.makeRecord(
            logger.name,
            logging.INFO,
            __file__,
            1,
            trace.LOG_SUCCESS,
            ({"name": "outbox.send_queued"},),
            None,
        )
        assert QuietPeriodicTasks().filter(periodic) is shown
        assert periodic.levelname == "DEBUG"
        assert QuietPeriodicTasks().filter(other) is True and other.levelname == "INFO"
    finally:
        logger.setLevel(previous)


def test_an_email_the_console_backend_prints_in_the_worker_is_info_not_a_warning(
    start_worker, clean_outbox, email_settings, tenant
):
    # The console backend of a developer's machine, which writes each sent email to the worker's
    # stdout; Celery logs a worker's stdout (at WARNING unless told otherwise).
    worker = start_worker(
        TP_TEST_POSTMARK_URL="",
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        TP_TEST_WORKER_LOGLEVEL="INFO",
    )
    with publishing_to(worker.queue):
        message = queue_hello(tenant)
    wait_for_status("acme", message.public_id, OutboxMessage.Status.SENT)
    log = worker.log_path.read_text()
    # From the task's "received" line to its "succeeded" line: the email is printed in between.
    printed = log[log.index("Task outbox.send_queued[") :]
    printed = printed[: printed.index("succeeded in")]
    assert "To: ann@example.com" in printed and "Subject: Hello from Acme, Ann" in printed, log
    assert {level_of(line) for line in printed.splitlines() if LEVEL.search(line)} <= {"info"}, printed
