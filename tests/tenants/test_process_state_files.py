"""No leak through file storage: the default storage keeps each schema's files in a folder of its own.

STORAGES["default"] is django-tenants' TenantFileSystemStorage: MEDIA_ROOT/tenants/<schema>/,
chosen from the connection's schema at each call. Exports keep their own storage (one for every
schema, the path naming the schema: tests/tenants/test_exports.py), since the operator opens them
from the public schema.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from tenants import services
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_file(tenant):
    """A file acme saved through the default storage: its name, removed after the test."""
    with tenant_context(tenant):
        name = default_storage.save("notes/plan.txt", ContentFile(b"acme's plan"))
    yield name
    with tenant_context(tenant):
        default_storage.delete(name)


def test_a_file_saved_in_a_tenant_lands_in_its_own_folder(tenant, acme_file):
    """Catches a default storage shared by every schema (Django's FileSystemStorage): the file would
    sit in MEDIA_ROOT itself, where every tenant's names meet."""
    with tenant_context(tenant):
        path = Path(default_storage.path(acme_file))
        with default_storage.open(acme_file) as handle:
            assert handle.read() == b"acme's plan"
    assert path.parent.parent == Path(settings.MEDIA_ROOT) / "tenants" / tenant.schema_name


def test_another_tenant_and_the_root_domain_cannot_open_a_tenants_file_by_its_name(
    tenant, other_tenant, acme_file
):
    """The same name asked for in globex or on the root domain finds nothing. Catches a storage
    whose folder does not follow the schema, and a name that could climb out of the schema's folder
    (Django refuses ``..`` in names: SuspiciousFileOperation)."""
    for schema in (other_tenant.schema_name, "public"):
        with schema_context(schema):
            assert not default_storage.exists(acme_file)
            with pytest.raises(FileNotFoundError):
                default_storage.open(acme_file)
    with tenant_context(other_tenant), pytest.raises(SuspiciousFileOperation):
        default_storage.open(f"../{tenant.schema_name}/{acme_file}")


def test_the_same_name_saved_in_two_tenants_is_two_files(tenant, other_tenant, acme_file):
    """Catches a shared folder, where globex's save would get a new name beside acme's file (or
    overwrite it through a storage that overwrites)."""
    with tenant_context(other_tenant):
        globex_name = default_storage.save("notes/plan.txt", ContentFile(b"globex's plan"))
        try:
            assert globex_name == acme_file
            with default_storage.open(globex_name) as handle:
                assert handle.read() == b"globex's plan"
        finally:
            default_storage.delete(globex_name)
    with tenant_context(tenant), default_storage.open(acme_file) as handle:
        assert handle.read() == b"acme's plan"


def test_exports_keep_one_storage_for_every_schema(tenant):
    """Catches exports moved onto the per-schema default storage: an archive built in the tenant's
    schema could then not be opened by the operator's doors, which run in the public schema."""
    with tenant_context(tenant):
        in_tenant = storages["exports"].path("exports/acme/x.zip")
    with schema_context("public"):
        in_public = storages["exports"].path("exports/acme/x.zip")
    assert in_tenant == in_public == str(Path(settings.MEDIA_ROOT) / "exports" / "acme" / "x.zip")


def test_purging_a_tenant_deletes_its_files_so_a_later_tenant_of_the_same_schema_finds_none(
    tenant, acme_file, django_capture_on_commit_callbacks
):
    """A purged schema's name may be given again (the slug is free after the grace period).
    Catches files left behind by the purge, which the next tenant of that schema would read; and
    a purge that deletes more than its own folder. (The tenant's schema is an empty one: the purge
    only drops it, and provisioning a whole one would cost seconds.)"""
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "filesgone"')
    gone = Tenant(schema_name="filesgone", slug="filesgone", name="Files gone")
    gone.save(verbosity=0)  # the schema exists: nothing is migrated
    with tenant_context(gone):
        name = default_storage.save("notes/plan.txt", ContentFile(b"the old tenant's"))
        folder = Path(default_storage.location)
    assert (folder / name).exists()
    services.delete_tenant(gone)
    with django_capture_on_commit_callbacks(execute=True):
        services.purge_tenant(gone)
    assert not folder.exists()
    with tenant_context(tenant):
        assert default_storage.exists(acme_file)
