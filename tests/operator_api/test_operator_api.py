"""The operator API on the root domain: operators only, tenant lifecycle through tenants.services."""

import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from tenants.models import Tenant
from tenants.services import can_operate_platform
from tests.clients import api_client_for, issue_token
from tests.factories import PASSWORD
from tests.tenants.test_provisioning import welcome_link

pytestmark = pytest.mark.django_db


def test_an_operator_gets_a_token_with_email_and_password(operator, root_api):
    response = root_api.post(
        "/api/v1/auth/token/", {"email": operator.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    client = api_client_for(settings.BASE_DOMAIN, response.json()["token"])
    assert client.get("/api/v1/tenants/").status_code == 200


def test_only_an_active_staff_account_of_the_public_schema_operates_the_platform(
    operator, owner, tenant, make_user
):
    connection.set_schema_to_public()
    assert can_operate_platform(operator)
    assert not can_operate_platform(make_user("customer@platform.test", None))
    assert not can_operate_platform(make_user("gone@platform.test", None, is_staff=True, is_active=False))
    assert not can_operate_platform(AnonymousUser())
    assert not can_operate_platform(None)
    with tenant_context(tenant):
        # A tenant's staff operates that tenant's admin, not the platform.
        assert owner.is_staff and not can_operate_platform(owner)


def test_a_public_user_who_is_not_staff_gets_no_token(make_user, root_api):
    make_user("customer@platform.test", None)
    response = root_api.post(
        "/api/v1/auth/token/", {"email": "customer@platform.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_a_tenant_users_credentials_get_no_operator_token(tenant, root_api):
    # owner@acme.test exists in acme's schema only
    response = root_api.post(
        "/api/v1/auth/token/", {"email": "owner@acme.test", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_a_tenant_token_is_refused_on_the_root_domain(tenant):
    from django.contrib.auth import get_user_model

    with tenant_context(tenant):
        owner = get_user_model().objects.get(email="owner@acme.test")
    client = api_client_for(settings.BASE_DOMAIN, issue_token(tenant, owner))
    assert client.get("/api/v1/tenants/").status_code == 401


def test_a_non_staff_public_users_token_is_forbidden(make_user):
    user = make_user("customer@platform.test", None)
    client = api_client_for(settings.BASE_DOMAIN, issue_token(None, user))
    assert client.get("/api/v1/tenants/").status_code == 403


def test_outsiders_are_refused(root_api, tenant):
    assert root_api.get("/api/v1/tenants/").status_code == 401
    assert root_api.post(f"/api/v1/tenants/{tenant.public_id}/suspend/").status_code == 401
    assert root_api.delete(f"/api/v1/tenants/{tenant.public_id}/").status_code == 401


def test_the_operator_api_is_not_served_on_tenant_hosts(operator, tenant):
    client = api_client_for(tenant.primary_host, issue_token(None, operator))
    assert client.get("/api/v1/tenants/").status_code == 404  # no operator API on tenant hosts


def test_operators_list_tenants_with_uuids(operator_api, tenant, other_tenant, django_assert_max_num_queries):
    # Plan usage adds three statements for the whole page: seats, projects, storage; the links
    # one (each tenant's primary domain, Tenant.canonical_host).
    with django_assert_max_num_queries(10):
        response = operator_api.get("/api/v1/tenants/")
    assert response.status_code == 200
    rows = {t["slug"]: t for t in response.json()["results"]}
    assert {"acme", "globex"} <= set(rows)
    assert rows["acme"]["id"] == str(tenant.public_id) and rows["acme"]["status"] == "active"
    with tenant_context(tenant):
        from django.contrib.auth import get_user_model

        assert rows["acme"]["user_count"] == get_user_model().objects.count()
    assert "schema_name" not in rows["acme"]


def test_operators_create_a_tenant_through_the_provisioning_service(operator_api):
    response = operator_api.post(
        "/api/v1/tenants/",
        {"slug": "initech", "name": "Initech", "owner_email": "bill@initech.test"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "initech" and body["url"] == Tenant.objects.get(slug="initech").url()
    tenant = Tenant.objects.get(slug="initech")
    assert schema_exists(tenant.schema_name)
    from django.contrib.auth import get_user_model

    from tenant_apps.accounts.roles import role_of

    with tenant_context(tenant):
        assert role_of(get_user_model().objects.get(email="bill@initech.test")) == "owner"


def test_provisioning_answers_without_the_owners_one_time_link(operator_api):
    # The link is the owner's, in their welcome email; the operator who provisions never sees it.
    response = operator_api.post(
        "/api/v1/tenants/",
        {"slug": "initech", "name": "Initech", "owner_email": "bill@initech.test"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "set_password_url" not in response.json()
    assert welcome_link("bill@initech.test") not in response.content.decode()
    assert "/accounts/reset/" not in response.content.decode()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"slug": "acme", "name": "Again", "owner_email": "a@b.test"}, "slug"),
        ({"slug": "Bad Slug", "name": "X", "owner_email": "a@b.test"}, "slug"),
        ({"slug": "fine-slug", "name": "   ", "owner_email": "a@b.test"}, "name"),
        ({"slug": "fine-slug", "name": "X", "owner_email": "nope"}, "owner_email"),
        ({"name": "X", "owner_email": "a@b.test"}, "slug"),
        ({"slug": "x" * 500, "name": "X", "owner_email": "a@b.test"}, "slug"),
    ],
)
def test_bad_tenant_input_is_a_400_keyed_by_field(operator_api, payload, field):
    response = operator_api.post("/api/v1/tenants/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_operators_suspend_and_reactivate_a_tenant(operator_api, tenant):
    response = operator_api.post(
        f"/api/v1/tenants/{tenant.public_id}/suspend/", {"reason": "unpaid"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    assert api_client_for(tenant.primary_host).get("/api/v1/me/").status_code == 403  # the suspended page
    response = operator_api.post(f"/api/v1/tenants/{tenant.public_id}/reactivate/")
    assert response.status_code == 200 and response.json()["status"] == "active"
    tenant.refresh_from_db()
    assert tenant.is_active


def test_operators_delete_a_tenant_softly_then_purge_its_schema(operator_api):
    created = operator_api.post(
        "/api/v1/tenants/",
        {"slug": "doomed", "name": "Doomed", "owner_email": "o@doomed.test"},
        format="json",
    ).json()
    response = operator_api.delete(f"/api/v1/tenants/{created['id']}/")
    assert response.status_code == 204
    # Soft: the row and the schema stay for the grace period (tests/tenants/test_lifecycle_delete.py).
    assert Tenant.objects.get(slug="doomed").status == Tenant.Status.DELETED and schema_exists("doomed")
    assert operator_api.post(f"/api/v1/tenants/{created['id']}/purge/").status_code == 204
    assert not Tenant.objects.filter(slug="doomed").exists()
    assert not schema_exists("doomed")


def test_unknown_tenant_ids_are_404(operator_api):
    for method, suffix in (
        ("get", ""),
        ("delete", ""),
        ("post", "suspend/"),
        ("post", "reactivate/"),
        ("post", "restore/"),
        ("post", "purge/"),
        ("post", "rename/"),
    ):
        response = getattr(operator_api, method)(f"/api/v1/tenants/{uuid.uuid4()}/{suffix}")
        assert response.status_code == 404, (method, suffix)


def test_the_operator_api_has_its_own_schema_and_docs(root_api, db):
    schema = root_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/tenants/" in paths and "/api/v1/users/" not in paths
    assert schema.json()["info"]["title"] == "Operator API"
    assert root_api.get("/api/docs/").status_code == 200


def test_the_tenant_api_schema_has_no_operator_paths(tenant):
    schema = api_client_for(tenant.primary_host).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/users/" in paths and "/api/v1/tenants/" not in paths
    assert "bearerAuth" in schema.json()["components"]["securitySchemes"]
