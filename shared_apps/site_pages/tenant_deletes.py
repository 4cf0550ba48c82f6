"""A tenant's deletes stop at the public schema's Wagtail rows.

Wagtail's models point at models that also live in every tenant schema: the user (a page's owner,
a revision's author, a user profile), the auth group (page permissions), the content type. A
tenant's connection has ``search_path = <tenant>, public``, so when a tenant deletes its user 7,
Django's deletion collector follows those foreign keys and finds ``wagtailcore_page`` and
``wagtailusers_userprofile`` in ``public``: it would null the owner of the pages operator 7
wrote and delete operator 7's profile, a tenant reaching into the operator's data. Ids repeat
across schemas; the rows are not related at all.

So each such foreign key's ``on_delete`` runs only in the public schema; elsewhere it does nothing
(tests/site_pages/test_tenant_schema.py deletes a tenant user and a tenant group that share ids
with an operator's). Rows of the public schema are still cascaded or nulled when an operator, a
group or a content type of the public schema is deleted.
"""

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import DO_NOTHING, ForeignKey
from django_tenants.utils import get_public_schema_name


def _tenant_app_labels() -> set[str]:
    """Labels of the apps with tables in the tenant schemas (TENANT_APPS names a module or an
    AppConfig class)."""
    names = set(settings.TENANT_APPS)
    return {
        config.label
        for config in apps.get_app_configs()
        if config.name in names or f"{type(config).__module__}.{type(config).__name__}" in names
    }


class _PublicOnly:
    """``on_delete`` that runs the wrapped one only in the public schema. It equals the wrapped
    one, so Django's checks (SET_NULL needs null=True) and the migration autodetector see the
    field unchanged; it is not ``CASCADE`` itself, so Django never fast-deletes past it."""

    public_only = True

    def __init__(self, on_delete):
        self.on_delete = on_delete
        self.lazy_sub_objs = getattr(on_delete, "lazy_sub_objs", False)
        if hasattr(on_delete, "deconstruct"):  # SET(value): migrations compare what it deconstructs to
            self.deconstruct = on_delete.deconstruct

    def __call__(self, collector, field, sub_objs, using):
        if connection.schema_name != get_public_schema_name():
            return None  # rows of the public schema: nothing to do with this tenant's row
        return self.on_delete(collector, field, sub_objs, using)

    def __eq__(self, other):
        return other is self or other == self.on_delete

    def __hash__(self):
        return hash(self.on_delete)


def guard_public_only_relations(app_labels: list[str]) -> None:
    """Guard every foreign key from these apps' models (including many-to-many tables) to a model
    that also has tables in the tenant schemas."""
    tenant_labels = _tenant_app_labels()
    for label in app_labels:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            for field in model._meta.local_fields:
                if not isinstance(field, ForeignKey):
                    continue
                on_delete = field.remote_field.on_delete
                if on_delete is DO_NOTHING or getattr(on_delete, "public_only", False):
                    continue
                if field.related_model._meta.app_label in tenant_labels:
                    field.remote_field.on_delete = _PublicOnly(on_delete)
