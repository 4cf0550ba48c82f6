"""Adds the column, then fails in a schema whose notes say "fail": that schema must lose the column
with the failure (one transaction), the others keep it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("migratingtest", "0001_initial")]

    operations = [
        migrations.AddField(model_name="note", name="extra", field=models.IntegerField(default=7)),
        migrations.RunSQL(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM migratingtest_note WHERE text = 'fail') "
            "THEN RAISE EXCEPTION 'this schema''s note says fail'; END IF; END $$",
            migrations.RunSQL.noop,
        ),
    ]
