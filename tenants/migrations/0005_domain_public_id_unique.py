import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_existing_domains_verified")]

    operations = [
        migrations.AlterField(
            model_name="domain",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
