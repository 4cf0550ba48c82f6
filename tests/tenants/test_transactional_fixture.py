import pytest

from tenants.models import Tenant


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_sees_the_session_tenants(tenant, other_tenant):
    assert {t.slug for t in Tenant.objects.all()} >= {"acme", "globex"}


def test_the_session_tenants_survive_the_flush_after_a_transactional_test(tenant, tenant_client):
    # Runs after the test above: the flush truncated the rows, the fixture put them back.
    assert Tenant.objects.filter(slug="acme").exists()
    assert tenant_client.get("/admin/login/").status_code == 200
