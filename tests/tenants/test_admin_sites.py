"""Two admin sites: the global one for operators (public schema) and one per tenant."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from tenants.models import Tenant
from tests.clients import host_client
from tests.factories import PASSWORD
from tests.tenants.test_provisioning import welcome_link

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD):
    """Sign in through the admin's own login form; True when it let the user in."""
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    return response.status_code == 302 and response["Location"] == "/admin/"


@pytest.fixture
def operator(make_user):
    return make_user("ops@platform.test", None, is_staff=True, is_superuser=True)


@pytest.fixture
def acme_owner(tenant, make_user):
    return make_user("boss@acme.test", tenant, is_staff=True, is_superuser=True)


@pytest.fixture
def operator_client(operator, root_client):
    assert sign_in(root_client, operator.email)
    return root_client


def test_an_operator_signs_in_to_the_global_admin(operator, root_client):
    assert sign_in(root_client, operator.email)
    assert root_client.get("/admin/").status_code == 200


def test_an_operator_cannot_sign_in_to_a_tenant_admin(operator, tenant_client):
    assert not sign_in(tenant_client, operator.email)


def test_a_tenant_user_cannot_sign_in_to_the_global_admin(acme_owner, root_client, tenant_client):
    assert sign_in(tenant_client, acme_owner.email)
    assert not sign_in(root_client, acme_owner.email)


def test_the_same_email_is_two_separate_accounts(tenant, make_user, root_client, tenant_client):
    make_user("same@person.test", None, password="operator-password-1", is_staff=True)
    make_user("same@person.test", tenant, password="tenant-password-2", is_staff=True)
    assert not sign_in(tenant_client, "same@person.test", "operator-password-1")
    assert not sign_in(root_client, "same@person.test", "tenant-password-2")
    assert sign_in(tenant_client, "same@person.test", "tenant-password-2")


def test_an_operator_session_is_worthless_on_a_tenant_host(operator_client, tenant):
    cookie = operator_client.cookies[settings.SESSION_COOKIE_NAME].value
    intruder = host_client(tenant.primary_host)
    intruder.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = intruder.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_tenant_session_is_worthless_on_another_tenant(acme_owner, tenant_client, other_tenant):
    assert sign_in(tenant_client, acme_owner.email)
    intruder = host_client(other_tenant.primary_host)
    intruder.cookies[settings.SESSION_COOKIE_NAME] = tenant_client.cookies[settings.SESSION_COOKIE_NAME].value
    assert intruder.get("/admin/").status_code == 302


def test_the_tenant_admin_shows_no_public_models(acme_owner, tenant_client):
    assert sign_in(tenant_client, acme_owner.email)
    index = tenant_client.get("/admin/")
    assert index.status_code == 200
    assert b"Acme admin" in index.content
    assert b"/admin/tenants/" not in index.content
    assert tenant_client.get("/admin/tenants/tenant/").status_code == 404
    assert tenant_client.get("/admin/accounts/user/").status_code == 200


def test_the_tenant_admin_lists_only_its_own_users(acme_owner, other_tenant, make_user, tenant_client):
    make_user("globex-only@globex.test", other_tenant)
    assert sign_in(tenant_client, acme_owner.email)
    page = tenant_client.get("/admin/accounts/user/").content
    assert b"boss@acme.test" in page and b"globex-only@globex.test" not in page


def test_the_global_admin_lists_tenants_with_status_created_date_and_user_count(operator_client, tenant):
    page = operator_client.get("/admin/tenants/tenant/")
    assert page.status_code == 200
    rows = page.context["cl"].result_list
    acme = next(t for t in rows if t.slug == "acme")
    with tenant_context(tenant):
        assert acme.user_count == get_user_model().objects.count()
    for text in (b"acme.localhost", b"globex.localhost", b"Active", b"Users", b"Created at"):
        assert text in page.content


def test_the_tenant_list_costs_the_same_queries_for_more_tenants(
    operator_client, django_assert_max_num_queries
):
    from tenants.services import provision_tenant

    # 13, three for the plan usage column (seats, projects, storage) of the whole page, and one:
    # whether this operator, whose session gave no second factor, has a device (operator_two_factor).
    with django_assert_max_num_queries(17) as few:
        operator_client.get("/admin/tenants/tenant/")
    for slug in ("more-one", "more-two", "more-three"):
        provision_tenant(slug, slug, f"o@{slug}.test")
    with django_assert_max_num_queries(len(few)):
        operator_client.get("/admin/tenants/tenant/")


def test_the_global_admin_creates_a_tenant_through_the_provisioning_service(operator_client):
    response = operator_client.post(
        "/admin/tenants/tenant/add/",
        {"slug": "wayne", "name": "Wayne Enterprises", "owner_email": "bruce@wayne.test"},
        follow=True,
    )
    assert response.status_code == 200
    tenant = Tenant.objects.get(slug="wayne")
    assert schema_exists("wayne") and tenant.domains.get().is_primary
    with tenant_context(tenant):
        assert get_user_model().objects.get().email == "bruce@wayne.test"
    messages = [str(m) for m in response.context["messages"]]
    assert any("welcome email" in m and "bruce@wayne.test" in m for m in messages)
    # The owner's one-time link is theirs alone: not in the operator's page or message.
    assert welcome_link("bruce@wayne.test") not in response.content.decode()
    assert not any("/accounts/reset/" in m for m in messages)


@pytest.mark.parametrize(
    ("slug", "error"), [("www", "reserved"), ("acme", "already taken"), ("Bad", "lowercase")]
)
def test_the_global_admin_add_form_shows_slug_errors_and_creates_nothing(
    operator_client, tenant, slug, error
):
    count = Tenant.objects.count()
    response = operator_client.post(
        "/admin/tenants/tenant/add/", {"slug": slug, "name": "X", "owner_email": "x@x.test"}
    )
    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors["slug"])
    assert Tenant.objects.count() == count


def test_the_global_admin_suspends_and_reactivates(operator_client, tenant, tenant_client):
    changelist = "/admin/tenants/tenant/"
    operator_client.post(changelist, {"action": "suspend_selected", "_selected_action": [tenant.pk]})
    assert tenant_client.get("/admin/login/").status_code == 403
    operator_client.post(changelist, {"action": "reactivate_selected", "_selected_action": [tenant.pk]})
    assert tenant_client.get("/admin/login/").status_code == 200


def test_the_global_admin_deletes_a_tenant_softly_and_keeps_its_schema(operator_client):
    # The hard drop is the "Purge" action (tests/tenants/test_lifecycle_delete.py).
    from tenants.services import provision_tenant

    tenant = provision_tenant("short-lived", "Short", "o@short.test").tenant
    response = operator_client.post(f"/admin/tenants/tenant/{tenant.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    connection.set_schema_to_public()
    assert Tenant.objects.get(slug="short-lived").status == Tenant.Status.DELETED
    assert schema_exists("short_lived")


def test_the_global_admin_add_form_refuses_an_owner_email_longer_than_the_user_column(operator_client):
    from tests.tenants.test_provisioning import LONG_EMAIL

    response = operator_client.post(
        "/admin/tenants/tenant/add/", {"slug": "longmail", "name": "Long Mail", "owner_email": LONG_EMAIL}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["owner_email"] == [
        "An email address is at most 254 characters long."
    ]
    assert not Tenant.objects.filter(slug="longmail").exists() and not schema_exists("longmail")
