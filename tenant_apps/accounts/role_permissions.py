"""Granting an app's permissions to the role groups, for data migrations.

A data migration runs before post_migrate has created the app's permissions, so these create
them first; then the migration works on a new schema as well as on an existing one. Each
migration passes its own frozen mapping (a later change of the mapping is a new migration).
"""

from django.contrib.auth.management import create_permissions


def _permissions(apps, schema_editor, app_label: str, codenames):
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True  # create_permissions skips app configs without models
    create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)


def grant(apps, schema_editor, app_label: str, role_codenames: dict[str, list[str]]) -> None:
    """Add ``app_label``'s permissions to each role group (created if missing)."""
    Group = apps.get_model("auth", "Group")
    for role, codenames in role_codenames.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*_permissions(apps, schema_editor, app_label, codenames))


def revoke(apps, schema_editor, app_label: str, role_codenames: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=role_codenames):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label=app_label, codename__in=role_codenames[group.name]
            )
        )
