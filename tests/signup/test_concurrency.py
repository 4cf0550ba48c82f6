"""Twenty visitors sign up for the same address at once: one workspace, nineteen clear refusals."""

import threading
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from django_tenants.utils import schema_exists, tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tenants import pool
from tenants.models import Tenant
from tests.conftest import host_client
from tests.signup.conftest import signup_data


def post_at_once(count, data_for):
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            client = host_client(settings.BASE_DOMAIN)
            client.raise_request_exception = False
            barrier.wait()
            results[i] = client.post("/signup/", data_for(i))
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_signups_for_one_slug_make_one_workspace_and_nineteen_refusals(settings):
    settings.SIGNUP_RATE = "1000/h"
    # A ready spare, as production keeps: the winner holds the slug's row lock for a rename, not a
    # whole migration (the test database's lock_timeout would fail the waiting losers instead).
    pool.refill_pool(1)

    results = post_at_once(20, lambda i: signup_data(email=f"owner{i}@rush.test", slug="rush"))

    codes = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert codes == [302] + [400] * 19, codes
    [winner] = [r for r in results if r.status_code == 302]
    assert urlsplit(winner["Location"]).hostname == "rush.localhost"
    for refusal in (r for r in results if r.status_code == 400):
        assert refusal.context["form"].errors == {"slug": ["The slug 'rush' is already taken."]}
        assert b"The slug &#x27;rush&#x27; is already taken." in refusal.content
    [tenant] = Tenant.objects.filter(slug="rush")
    assert schema_exists("rush")
    with tenant_context(tenant):
        from django.contrib.auth import get_user_model

        [owner] = get_user_model().objects.all()
        [email] = OutboxMessage.objects.all()
        assert email.to == [owner.email] and email.template == "accounts/signup_welcome"
