"""Wagtail lives in the public schema only: a tenant schema has exactly the tenant apps' tables,
whichever way it was made, and nothing a tenant does reaches Wagtail's rows in the public schema."""

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from wagtail.models import GroupPagePermission, Page
from wagtail.users.models import UserProfile

from shared_apps.site_pages.models import HomePage
from tenant_apps.accounts.services import create_user_with_role
from tenants import pool
from tenants.models import SchemaImage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PUBLIC_ONLY_PREFIXES = ("wagtail", "taggit", "site_pages")


def tables_of(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


def tenant_apps_tables() -> set[str]:
    """The tables of every model of TENANT_APPS (many-to-many tables too), and Django's record of
    migrations: what a tenant schema must hold, nothing more."""
    names = set(settings.TENANT_APPS)
    tables = {"django_migrations"}
    for config in apps.get_app_configs():
        if config.name in names or f"{type(config).__module__}.{type(config).__name__}" in names:
            for model in config.get_models(include_auto_created=True):
                if model._meta.managed and not model._meta.proxy:
                    tables.add(model._meta.db_table)
    return tables


@pytest.fixture(scope="module")
def image_sql(django_db_setup, django_db_blocker):
    """The template image (the template schema migrated, then dumped, as tenants/pool.py builds
    it for the pool's spares and the template path), then removed, as tests/tenants/test_pool.py
    does: each test replays it in its own transaction."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        image, _ = pool.ensure_template_image()
        SchemaImage.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {pool.TEMPLATE_SCHEMA} CASCADE")
    return image.sql


def test_the_public_schema_has_wagtails_tables(site_pages):
    # The check below can fail: the tables it looks for are real, in public.
    public = tables_of("public")
    assert {"wagtailcore_page", "wagtailcore_site", "taggit_tag", "site_pages_homepage"} <= public


def test_a_migrated_tenant_schema_has_exactly_the_tenant_apps_tables(tenant):
    # acme was provisioned through migrations at the start of the session (django-tenants' path).
    found = tables_of(tenant.schema_name)
    assert found == tenant_apps_tables()
    assert not [table for table in found if table.startswith(PUBLIC_ONLY_PREFIXES)]


def test_a_schema_from_the_template_image_has_exactly_the_tenant_apps_tables(image_sql):
    # The template path replays this image as the tenant's schema; a pool spare is the same
    # replay, renamed to the tenant's name when claimed (tenants/pool.py).
    pool.replay_image(image_sql, "site_pages_image_check")
    found = tables_of("site_pages_image_check")
    assert found == tenant_apps_tables()
    assert not [table for table in found if table.startswith(PUBLIC_ONLY_PREFIXES)]


def test_a_tenant_request_and_a_tenant_users_save_run_no_wagtail_query(web, owner, tenant, site_pages):
    browser = web(owner)
    with CaptureQueriesContext(connection) as queries:
        assert browser.get("/projects/").status_code == 200
        with tenant_context(tenant):
            owner.full_name = "Olive Owner"
            owner.save(update_fields=["full_name"])
            create_user_with_role("new@acme.test", "member", full_name="New Member")
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "projects_project" in sql  # the page's own queries were captured
    assert "wagtail" not in sql and "taggit" not in sql


def test_deleting_a_tenants_user_leaves_the_operators_wagtail_rows_with_the_same_id(tenant, site_pages):
    # Ids repeat across schemas: acme's user 900001 and operator 900001 are unrelated people.
    tenant_user = UserFactory(tenant=tenant, id=900001, email="same-id@acme.test")
    connection.set_schema_to_public()
    operator = UserFactory(id=900001, email="same-id@platform.test", is_staff=True, is_superuser=True)
    UserProfile.get_for_user(operator)
    home = HomePage.objects.get()
    home.owner = operator
    home.save(update_fields=["owner"])

    with tenant_context(tenant):
        tenant_user.delete()
        assert not type(tenant_user).objects.filter(id=900001).exists()

    connection.set_schema_to_public()
    assert UserProfile.objects.filter(user=operator).exists()
    assert Page.objects.get(pk=home.pk).owner_id == operator.pk


def test_deleting_a_tenants_group_leaves_the_public_groups_page_permissions(tenant, site_pages):
    connection.set_schema_to_public()
    public_group = Group.objects.create(name="Site editors")
    GroupPagePermission.objects.create(
        group=public_group,
        page=HomePage.objects.get(),
        permission=Permission.objects.get(content_type__app_label="wagtailcore", codename="change_page"),
    )
    with tenant_context(tenant):
        tenant_group = Group.objects.create(id=public_group.pk, name="Same id in acme")
        tenant_group.delete()

    connection.set_schema_to_public()
    assert GroupPagePermission.objects.filter(group=public_group).count() == 1


def test_deleting_a_public_group_still_removes_its_page_permissions(site_pages):
    # The guard is for tenants' deletes only: in the public schema the cascade is Wagtail's.
    connection.set_schema_to_public()
    group = Group.objects.create(name="Former editors")
    GroupPagePermission.objects.create(
        group=group,
        page=HomePage.objects.get(),
        permission=Permission.objects.get(content_type__app_label="wagtailcore", codename="change_page"),
    )
    group.delete()
    assert not GroupPagePermission.objects.filter(group_id=group.pk).exists()
