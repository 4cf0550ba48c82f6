"""The public schema's outbox (the platform's own emails): the delivery webhook updates its rows,
and a tenant named by an event is still the only one it touches."""

import uuid

from django_tenants.utils import schema_context

from tenant_apps.outbox.models import OutboxMessage
from tests.outbox.test_tracking import current, post, postmark_event, sent_row

Status = OutboxMessage.Status


def test_a_delivery_event_for_a_platform_email_marks_the_public_row_and_no_tenants(
    root_client, tenant, other_tenant, email_settings
):
    provider_id = str(uuid.uuid4())
    platform, acme = sent_row("public", provider_id), sent_row("acme", provider_id)
    platform.schema, acme.schema = "public", "acme"

    response = post(root_client, postmark_event("Bounce", provider_id, "public"))

    assert response.status_code == 200
    assert current(platform).status == Status.BOUNCED
    assert current(acme).status == Status.SENT


def test_an_event_naming_a_tenant_leaves_the_platforms_row_alone(root_client, tenant, email_settings):
    provider_id = str(uuid.uuid4())
    platform, acme = sent_row("public", provider_id), sent_row("acme", provider_id)
    platform.schema, acme.schema = "public", "acme"

    assert post(root_client, postmark_event("Delivery", provider_id, "acme")).status_code == 200

    assert current(acme).status == Status.DELIVERED
    with schema_context("public"):
        assert OutboxMessage.objects.get(pk=platform.pk).status == Status.SENT


def test_an_upgraded_database_gets_the_public_outbox_table_from_its_migration(db):
    """A public schema migrated before the outbox was a shared app has 0001-0005 recorded without
    their table; 0006 creates it there (and does nothing where it exists)."""
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    migration = importlib.import_module("tenant_apps.outbox.migrations.0006_platform_outbox_in_public")
    state = MigrationLoader(connection).project_state(("outbox", "0006_platform_outbox_in_public"))
    table = OutboxMessage._meta.db_table

    def tables():
        with connection.cursor() as cursor:
            return connection.introspection.table_names(cursor)

    connection.set_schema_to_public()
    with connection.schema_editor() as editor:
        editor.delete_model(OutboxMessage)  # as the old router left it (rolled back after the test)
    assert table not in tables()

    with connection.schema_editor() as editor:
        migration.create_public_table(state.apps, editor)
    assert table in tables()
    with connection.schema_editor() as editor:
        migration.create_public_table(state.apps, editor)  # present: nothing to do
    # The table as of 0006 (later migrations add columns): its model at that state writes a row.
    state.apps.get_model("outbox", "OutboxMessage").objects.create(
        to=["a@b.test"], from_email="p@b.test", template="x/y", subject="S", body_text="B"
    )
