"""Domains that exist already route today: they are verified (since they were created), and each
gets its public id."""

import uuid

from django.db import migrations


def verify_existing(apps, schema_editor):
    Domain = apps.get_model("tenants", "Domain")
    for domain in Domain.objects.filter(public_id__isnull=True):
        domain.public_id = uuid.uuid4()
        domain.verified_at = domain.verified_at or domain.created_at
        domain.save(update_fields=["public_id", "verified_at"])


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_lifecycle")]

    # The reverse keeps the values: 0003's reverse drops the columns.
    operations = [migrations.RunPython(verify_existing, migrations.RunPython.noop)]
