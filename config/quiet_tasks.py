"""Periodic jobs speak at INFO only when they did something.

Celery writes, at INFO, a line when beat sends a task, when the worker receives it and when it
succeeds: for the jobs beat runs every minute (the pool's refill, the outbox recovery and its
fan-out to every tenant) that is a dozen lines a minute saying nothing happened. Those three lines
are DEBUG for the periodic jobs named here: the beat schedule's tasks and the per-tenant tasks they
fan out to (PERIODIC_FANOUT_TASKS). Each job logs at INFO itself when it changed something, and
Celery's own lines for a retry, a failure or an error are untouched, for every task.

A logging filter rather than Celery's settings: Celery has no per-task switch for these lines, and
raising the level of its loggers would hide the lines of every other task too.
"""

import logging

from celery.app import trace
from django.conf import settings

# The loggers of the three lines, and how each names the task.
BEAT_LOGGER = "celery.beat"
TRACE_LOGGER = "celery.app.trace"
RECEIVED_LOGGER = "celery.worker.strategy"
BEAT_SENDING = "Scheduler: Sending due task %s (%s)"


def periodic_task_names() -> set[str]:
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    return names | set(settings.PERIODIC_FANOUT_TASKS)


def task_name_of(record: logging.LogRecord) -> str | None:
    """The task a routine Celery line is about: beat's "sending", the worker's "received" or
    "succeeded"; None for any other line."""
    if record.msg == BEAT_SENDING and isinstance(record.args, tuple) and len(record.args) == 2:
        return record.args[1]
    if record.msg in (trace.LOG_RECEIVED, trace.LOG_SUCCESS) and isinstance(record.args, dict):
        return record.args.get("name")
    return None


class QuietPeriodicTasks(logging.Filter):
    """Turns the routine INFO lines of periodic jobs into DEBUG lines, shown only when the logger
    is set to DEBUG (``LOG_LEVEL=DEBUG``, ``celery worker --loglevel=DEBUG``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or task_name_of(record) not in periodic_task_names():
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def install() -> None:
    """Attach the filter to Celery's loggers of those lines (idempotent). Logger filters survive
    Celery's and Django's logging setup, which add handlers and never name these loggers."""
    for name in (BEAT_LOGGER, TRACE_LOGGER, RECEIVED_LOGGER):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, QuietPeriodicTasks) for existing in logger.filters):
            logger.addFilter(QuietPeriodicTasks())
