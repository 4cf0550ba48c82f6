"""The id of the request that queued an email, for its X-Request-ID header (config/logs.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("outbox", "0004_hide_stored_links")]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="request_id",
            field=models.CharField(blank=True, editable=False, max_length=128),
        ),
    ]
