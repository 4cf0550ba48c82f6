"""What keeps tests independent of their order (tests/isolation.py)."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from tenant_apps.projects.models import Project
from tests.factories import ProjectFactory
from tests.isolation import delete_suite_cache_keys


@pytest.mark.django_db(transaction=True)
def test_rows_and_schemas_a_transactional_test_commits_are_removed_after_it(django_db_setup, tenant):
    baseline = django_db_setup
    ProjectFactory(tenant=tenant, name="Left behind")
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "left_behind"')

    baseline.restore()

    assert not schema_exists("left_behind")
    with tenant_context(tenant):
        assert not Project.objects.exists()
        assert get_user_model().objects.filter(email="owner@acme.test").exists(), "provisioned rows stay"


def test_between_tests_only_this_runs_cache_keys_are_deleted():
    client = cache._cache.get_client(write=True)
    foreign = f"public:someone-else:1:{uuid.uuid4().hex}"  # a dev server's key on the same Redis
    client.set(foreign, b"1", ex=60)
    cache.set("ours", 1)
    try:
        delete_suite_cache_keys()

        assert cache.get("ours") is None
        assert client.get(foreign) == b"1"
    finally:
        client.delete(foreign)
