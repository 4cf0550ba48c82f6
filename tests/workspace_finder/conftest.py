import pytest
from django.conf import settings
from django.db import connection

from tenant_apps.outbox.models import OutboxMessage
from tests.conftest import host_client


@pytest.fixture
def visitor(site_pages):
    """A browser on the root domain, where the home (a Wagtail page) and its forms live."""
    return host_client(settings.BASE_DOMAIN)


def platform_rows() -> list[OutboxMessage]:
    """The public schema's outbox: the platform's own emails."""
    connection.set_schema_to_public()
    return list(OutboxMessage.objects.order_by("id"))


@pytest.fixture
def finder(tenant, other_tenant, clean_outbox, outbox_worker, email_settings, fake_postmark):
    """The real worker sending to the fake Postmark, with no platform email and no submission yet."""
    outbox_worker.ping()  # tasks of earlier tests are done before the fake's record is cleared
    connection.set_schema_to_public()
    OutboxMessage.objects.all().delete()
    fake_postmark.reset()
    yield fake_postmark
    connection.set_schema_to_public()
    OutboxMessage.objects.all().delete()
