"""Let owners and admins read the outbox in the tenant admin and resend failed messages."""

from django.db import migrations

from tenant_apps.accounts import role_permissions

# Frozen here: a later change of the mapping gets its own migration.
ROLE_PERMISSIONS = {role: ["view_outboxmessage", "change_outboxmessage"] for role in ("owner", "admin")}


def grant(apps, schema_editor):
    role_permissions.grant(apps, schema_editor, "outbox", ROLE_PERMISSIONS)


def revoke(apps, schema_editor):
    role_permissions.revoke(apps, schema_editor, "outbox", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
