"""Sensitive outbox rows: bodies with placeholders, the secrets kept apart, a way to renew them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0002_role_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="sensitive",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="secret_values",
            field=models.JSONField(blank=True, default=dict, editable=False, serialize=False),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="renewal",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
    ]
