"""Waits on an advisory lock the test holds (WAIT_LOCK_KEY) before adding the column: the test sees
a schema mid-migration, and lets it go by releasing the lock."""

from django.db import migrations, models

WAIT_LOCK_KEY = 0x7E4A_7E57


class Migration(migrations.Migration):
    dependencies = [("migratingtest", "0001_initial")]

    operations = [
        # No lock_timeout (the suite sets one): it waits for as long as the test holds the lock.
        migrations.RunSQL(
            f"SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock({WAIT_LOCK_KEY})",
            migrations.RunSQL.noop,
        ),
        migrations.AddField(model_name="note", name="extra", field=models.IntegerField(default=7)),
    ]
