"""The public schema's outbox table (the platform's own emails, ``services.queue_platform_email``),
on a database migrated before the app was in SHARED_APPS too.

There, django-tenants recorded 0001-0005 as applied in the public schema while its router kept
their tables out of it, so they will never run there again: this creates the table as it stands
after them. A no-op wherever the table exists (every tenant schema, and a public schema migrated
since the change, whose 0001 made it)."""

from django.db import migrations
from django_tenants.utils import get_public_schema_name


def create_public_table(apps, schema_editor):
    connection = schema_editor.connection
    if connection.schema_name != get_public_schema_name():
        return
    model = apps.get_model("outbox", "OutboxMessage")
    with connection.cursor() as cursor:
        exists = model._meta.db_table in connection.introspection.table_names(cursor)
    if not exists:
        schema_editor.create_model(model)


def keep_table(apps, schema_editor):
    # Reversed, the table stays: dropping it would lose the platform's queued emails, and 0001's
    # own reverse drops it when the app is unmigrated all the way.
    pass


class Migration(migrations.Migration):
    dependencies = [("outbox", "0005_outboxmessage_request_id")]

    operations = [migrations.RunPython(create_public_table, keep_table)]
