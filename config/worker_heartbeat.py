"""The worker's heartbeat for /-/ready/ (tenants/readiness.py), as a step of Celery's consumer.

A consumer step starts once the task consumer is set up and stops when the consumer does,
including when the broker connection is lost (the consumer restarts its steps): a heartbeat then
means "consuming", not only "the process exists". Its timer runs in the worker's main process (the
consumer's event loop), so busy prefork children do not delay it; with ``--pool solo`` a task
runs in that loop and a task longer than READY_WORKER_MAX_AGE_SECONDS silences it.

Not Celery's own heartbeat: that one is an event to listeners (``worker-heartbeat``), which a
probe would have to subscribe to, and ``inspect ping`` is a broadcast waiting on every worker's
answer; one Redis key with an expiry is read in the probe's existing round trip.
"""

import logging

from celery import bootsteps
from django.conf import settings

logger = logging.getLogger(__name__)


class WorkerHeartbeat(bootsteps.StartStopStep):
    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.tref = None

    def start(self, consumer):
        self.beat(consumer)
        self.tref = consumer.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, self.beat, (consumer,), priority=10
        )

    def stop(self, consumer):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def beat(self, consumer):
        from tenants import readiness  # Django's apps are loaded by the time the consumer starts

        try:
            queues = [queue.name for queue in consumer.task_consumer.queues]
            readiness.record_heartbeat(consumer.hostname, queues)
        except Exception as error:  # the next beat retries; the probe sees the gap
            logger.warning("worker heartbeat not recorded: %r", error)
