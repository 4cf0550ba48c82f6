"""Give the workspace roles their project permissions, in whichever schema this runs.

Every role works with projects, tasks and comments; only owners and admins archive or delete
projects and delete others' tasks and comments. Permissions are normally created after all
migrations (post_migrate); the ones needed here are created first so this works on a new schema.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MEMBER = ["view_project", "add_project", "change_project", "view_task", "add_task", "change_task",
          "view_comment", "add_comment"]
MANAGER = [*MEMBER, "archive_project", "delete_project", "delete_task", "delete_comment"]
# Frozen here: a later change of the mapping gets its own migration.
ROLE_PERMISSIONS = {"owner": MANAGER, "admin": MANAGER, "member": MEMBER}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("projects")
    app_config.models_module = True  # create_permissions skips app configs without models
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="projects", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=ROLE_PERMISSIONS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="projects"))


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
