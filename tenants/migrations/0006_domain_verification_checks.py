from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_domain_public_id_unique")]

    operations = [
        migrations.AddField(
            model_name="domain",
            name="verification_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="domain",
            name="verification_error",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
