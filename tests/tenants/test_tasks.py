"""A task runs in the schema of the tenant that enqueued it, or not at all (config/celery.py)."""

import uuid

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from tests.worker_tasks import ping, report_key

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_runs_in_the_schema_of_the_tenant_that_enqueued_it(tenant, outbox_worker):
    with tenant_context(tenant):
        assert outbox_worker.ping()["schema"] == tenant.schema_name


def test_a_task_of_a_vanished_tenant_is_dropped_not_run_in_public(outbox_worker):
    token = uuid.uuid4().hex
    # What a message sent by a tenant deleted since carries: the name of a schema no tenant has.
    ping.apply_async((token,), queue=outbox_worker.queue, headers={"_schema_name": "vanished"})
    outbox_worker.ping()  # the solo worker runs it after the task above

    assert cache.get(report_key(token)) is None  # the report it would have written in public
    assert "dropped task tests.ping" in outbox_worker.log() and "'vanished'" in outbox_worker.log()
