"""Let owners and admins read the outbox in the tenant admin and resend failed messages.

Permissions are normally created after all migrations (post_migrate); the ones needed here are
created first so this works on a new schema.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen here: a later change of the mapping gets its own migration.
CODENAMES = ["view_outboxmessage", "change_outboxmessage"]
ROLES = ["owner", "admin"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("outbox")
    app_config.models_module = True  # create_permissions skips app configs without models
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="outbox", codename__in=CODENAMES)
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="outbox", codename__in=CODENAMES)
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
