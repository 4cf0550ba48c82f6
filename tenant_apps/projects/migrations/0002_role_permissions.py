"""Give the workspace roles their project permissions, in whichever schema this runs.

Every role works with projects, tasks and comments; only owners and admins archive or delete
projects and delete others' tasks and comments. Permissions are normally created after all
migrations (post_migrate); the ones needed here are created first so this works on a new schema.
"""

from django.db import migrations

from tenant_apps.accounts import role_permissions

MEMBER = [
    "view_project",
    "add_project",
    "change_project",
    "view_task",
    "add_task",
    "change_task",
    "view_comment",
    "add_comment",
]
MANAGER = [*MEMBER, "archive_project", "delete_project", "delete_task", "delete_comment"]
# Frozen here: a later change of the mapping gets its own migration.
ROLE_PERMISSIONS = {"owner": MANAGER, "admin": MANAGER, "member": MEMBER}


def grant(apps, schema_editor):
    role_permissions.grant(apps, schema_editor, "projects", ROLE_PERMISSIONS)


def revoke(apps, schema_editor):
    role_permissions.revoke(apps, schema_editor, "projects", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
