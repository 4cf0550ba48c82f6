"""The admins answer odd requests with a 4xx or a working page, never a 500."""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, email):
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("value", ["abc", "1.5", "-", "99999999999999999999999"])
def test_an_add_form_prefilled_with_a_malformed_related_id_still_renders(owner, tenant_client, value):
    # ?field=value pre-fills an add form; a related id that is not an id of the right type is dropped.
    sign_in(tenant_client, owner.email)
    for url in (f"/admin/projects/task/add/?assignee={value}", f"/admin/projects/task/add/?project={value}"):
        assert tenant_client.get(url).status_code == 200, url


def test_a_well_formed_related_id_still_prefills_the_add_form(owner, tenant_client):
    sign_in(tenant_client, owner.email)
    page = tenant_client.get(f"/admin/projects/task/add/?assignee={owner.pk}")
    assert page.status_code == 200 and owner.email.encode() in page.content


def test_operators_are_deactivated_not_deleted_in_the_global_admin(operator, make_user, root_client):
    # Deleting a User collects the rows of every model pointing at users, including tenant-only
    # models whose tables do not exist in the public schema.
    other = make_user("other-ops@platform.test", None, is_staff=True)
    sign_in(root_client, operator.email)
    assert root_client.get(f"/admin/accounts/user/{other.pk}/delete/").status_code == 403
    assert root_client.post(f"/admin/accounts/user/{other.pk}/delete/", {"post": "yes"}).status_code == 403
    response = root_client.post(
        "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [other.pk]}
    )
    assert response.status_code in (200, 302)
    assert get_user_model().objects.filter(pk=other.pk).exists()
    listing = root_client.get("/admin/accounts/user/")
    assert listing.status_code == 200 and b"delete_selected" not in listing.content
