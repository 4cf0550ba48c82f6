"""No leak through a process's caches: Django's ContentType cache and the cache's keys, per schema.

Each schema has its own ``django_content_type`` table with its own ids (the first test shows they
differ), so one process serving the root domain and every tenant must not carry a content type
read in one schema over to another (tenants/contenttype_cache.py). django-tenants empties the
process's one cache whenever a connection changes schema, which is enough for one thread; the
threads of a gthread worker share that cache, so the tests read it in one thread after another
thread, in another schema, filled it.

The cache (Redis) puts the schema first in every key (django-tenants' ``make_key``, CACHES in
config/settings.py); DRF's throttle buckets per schema are tested in tests/accounts/test_api_input.py.
"""

import threading

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, connections
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.projects.models import Project
from tenants.contenttype_cache import PerSchemaCache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cold_content_type_cache():
    """Every test warms the cache itself, and leaves none of its (rolled-back) rows in it."""
    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


def content_type_id(app_label: str, model: str) -> int:
    """The id the current schema's own table gives the model, read without the ORM's cache."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM django_content_type WHERE app_label = %s AND model = %s", [app_label, model]
        )
        return cursor.fetchone()[0]


def in_another_thread(schema: str, read):
    """``read()`` in a thread of its own (another request of a gthread worker) in ``schema``; its
    result. Like a request, it leaves its connection in its schema when it ends (no
    ``schema_context`` whose exit would switch back, and empty the cache on the way)."""
    result = {}

    def run():
        try:
            connection.set_schema(schema)
            result["value"] = read()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result["value"]


def model_of(content_type_id: int) -> tuple[str, str] | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app_label, model FROM django_content_type WHERE id = %s", [content_type_id])
        return cursor.fetchone()


def test_content_type_ids_differ_between_the_public_schema_and_a_tenant(tenant):
    """The premise of the tests below: were the ids equal everywhere, a shared cache would hide
    nothing and these tests could not fail. Catches a change of schema building that makes them
    equal (then the per-schema cache is only a safety net)."""
    with schema_context("public"):
        public = content_type_id("projects", "project")
    with tenant_context(tenant):
        own = content_type_id("projects", "project")
    assert public != own


def test_a_content_type_another_thread_read_in_the_public_schema_is_not_reused_in_a_tenant(tenant):
    """Catches ContentType.objects caching per database alias only: a root-domain request in
    another thread would give acme's request the public schema's id, another model in acme."""
    with tenant_context(tenant):
        in_public = in_another_thread("public", lambda: ContentType.objects.get_for_model(Project))
        in_acme = ContentType.objects.get_for_model(Project)
        assert in_acme.pk == content_type_id("projects", "project")
    assert in_acme.pk != in_public.pk


def test_a_content_type_id_resolves_to_the_current_schemas_row(tenant):
    """``get_for_id`` is how a generic relation finds its object's model. Catches the id another
    thread cached in the public schema (a Tenant's there) resolving to the public schema's model in
    acme."""
    with tenant_context(tenant):
        tenant_type = in_another_thread("public", lambda: ContentType.objects.get_for_model(type(tenant)))
        own_row = model_of(tenant_type.pk)  # another model's, or none (the public ids drift)
        try:
            resolved = ContentType.objects.get_for_id(tenant_type.pk)
        except ContentType.DoesNotExist:
            resolved = None
        assert (resolved and (resolved.app_label, resolved.model)) == own_row
    assert own_row != ("tenants", "tenant")


def test_a_permission_looked_up_by_natural_key_in_a_tenant_is_the_tenants_row(tenant):
    """``Permission.objects.get_by_natural_key`` (fixtures, data migrations, role setup) goes
    through the ContentType cache. Catches the public schema's content type, cached by another
    thread, being used for acme: no such permission there, or another model's."""
    with tenant_context(tenant):
        in_another_thread(
            "public", lambda: Permission.objects.get_by_natural_key("view_project", "projects", "project")
        )
        permission = Permission.objects.get_by_natural_key("view_project", "projects", "project")
        assert permission.content_type_id == content_type_id("projects", "project")


def test_an_admin_log_entry_in_one_tenant_names_its_own_content_type_after_another_tenant_warmed_it(
    tenant, other_tenant
):
    """Two tenants whose tables number a model differently (a schema built by another path, or a
    content type created again): globex's here. Catches acme's id, cached by a request of acme in
    another thread, being written into globex's admin history, where it names another model or none."""
    with tenant_context(other_tenant):
        ContentType.objects.filter(app_label="auth", model="group").delete()
        renumbered = ContentType.objects.create(app_label="auth", model="group")
        owner_id = get_user_model().objects.get(email="owner@globex.test").pk
    with tenant_context(other_tenant):
        acme_group_type = in_another_thread(
            tenant.schema_name, lambda: ContentType.objects.get_for_model(Group)
        )
        assert acme_group_type.pk != renumbered.pk
        [entry] = LogEntry.objects.log_actions(owner_id, [Group(pk=1, name="Staff")], ADDITION)
        assert entry.content_type_id == renumbered.pk
        assert model_of(entry.content_type_id) == ("auth", "group")


def test_the_content_type_cache_keeps_a_bounded_number_of_schemas(tenant, other_tenant):
    """Catches a cache that grows by one dict per schema for ever in a worker serving every tenant:
    past its bound the least recently used schema is dropped (and read again when asked)."""
    cache_ = PerSchemaCache(max_schemas=2)
    for schema in ("public", tenant.schema_name, other_tenant.schema_name):
        with schema_context(schema):
            cache_.setdefault("default", {})["marker"] = schema
    assert len(cache_) == 2
    with schema_context("public"):
        assert "default" not in cache_
    with tenant_context(other_tenant):
        assert cache_["default"]["marker"] == other_tenant.schema_name


def test_content_types_objects_and_its_default_manager_share_the_per_schema_cache():
    """Catches the cache installed on one copy of the manager only (Django copies managers into
    ``_meta.managers``): the admin and generic relations go through the default manager."""
    assert isinstance(ContentType.objects._cache, PerSchemaCache)
    assert ContentType._default_manager._cache is ContentType.objects._cache


def test_a_cache_key_written_in_one_tenant_is_not_read_in_another_nor_on_the_root_domain(
    tenant, other_tenant
):
    """The same logical key (a fragment, a "last seen", a counter) under three schemas: three
    entries. Catches a KEY_FUNCTION without the schema, where globex would read acme's value and the
    root domain either."""
    with tenant_context(tenant):
        cache.set("process-state:same-key", "acme's")
    with tenant_context(other_tenant):
        assert cache.get("process-state:same-key") is None
        cache.set("process-state:same-key", "globex's")
    with schema_context("public"):
        assert cache.get("process-state:same-key") is None
        cache.set("process-state:same-key", "the root domain's")
    with tenant_context(tenant):
        assert cache.get("process-state:same-key") == "acme's"
    with tenant_context(other_tenant):
        assert cache.get("process-state:same-key") == "globex's"
