"""Create the owner, admin and member groups with their permissions, in whichever schema this runs.

Permissions are normally created by a post_migrate signal, after every migration; the ones the
groups need are created here first, so this migration works on a fresh schema.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen copy of tenant_apps.accounts.roles.ROLE_PERMISSIONS: a migration must not follow later
# edits of the code (a change of the mapping gets its own migration).
ROLE_PERMISSIONS = {
    "owner": [
        "view_user",
        "manage_users",
        "manage_owners",
        "view_invitation",
        "add_invitation",
        "change_invitation",
    ],
    "admin": ["view_user", "manage_users", "view_invitation", "add_invitation", "change_invitation"],
    "member": ["view_user"],
}


def create_role_groups(apps, schema_editor):
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True  # create_permissions skips app configs without models
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        group.permissions.set(permissions)


def delete_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_invitation_and_role_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, delete_role_groups)]
