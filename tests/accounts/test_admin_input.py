"""The admins answer odd requests with a 4xx or a working page, never a 500."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, models

from tenants.admin_site import tenant_admin_site
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


# Far past the years 1-9999 of Python's datetime: an OverflowError, not a ValueError.
HUGE_YEAR = "9" * 40


def bad_date_filters(model_admin) -> list[str]:
    """Query strings with date values Django cannot turn into a query, for each date column of the
    admin's model, and for its date hierarchy."""
    queries = []
    for field in model_admin.model._meta.concrete_fields:
        if not isinstance(field, models.DateField):  # DateTimeField is a DateField
            continue
        name = field.name
        queries += [
            f"{name}__year={HUGE_YEAR}",
            f"{name}__year=10000",
            f"{name}__iso_year=10000",
            f"{name}__year__gt=99999",
            f"{name}__date__year=99999",
            f"{name}__gte=9999999-01-01",
            # Valid ISO dates whose UTC time is out of Python's range, or whose offset PostgreSQL refuses.
            f"{name}__gte=0001-01-01T00:00:00%2B23:59",
            f"{name}__gte=9999-12-31T23:59:59-23:59",
        ]
    if hierarchy := model_admin.date_hierarchy:
        queries += [
            f"{hierarchy}__year={HUGE_YEAR}",
            f"{hierarchy}__year=9999",  # its upper bound is the year 10000
            f"{hierarchy}__year=9999&{hierarchy}__month=12",
            f"{hierarchy}__year=9999&{hierarchy}__month=12&{hierarchy}__day=31",
            f"{hierarchy}__year=2024&{hierarchy}__month={HUGE_YEAR}",
        ]
    return queries


def changelists(site):
    return [
        (f"/admin/{model._meta.app_label}/{model._meta.model_name}/", model_admin)
        for model, model_admin in site._registry.items()
    ]


def assert_unusable_dates_are_ignored(client, site):
    checked = 0
    for url, model_admin in changelists(site):
        if client.get(url).status_code != 200:
            continue  # an admin this persona may not see
        for query in bad_date_filters(model_admin):
            response = client.get(f"{url}?{query}")
            # Django's answer to an unusable filter: the list without filters, flagged ?e=1.
            assert response.status_code == 302 and response["Location"] == f"{url}?e=1", (url, query)
            checked += 1
    return checked


def test_every_tenant_admin_list_ignores_dates_out_of_range(owner, web):
    client = web(owner)
    # The outbox and the task list have a date hierarchy: the first cases of the finding.
    assert client.get("/admin/outbox/outboxmessage/?created_at__year=2024").status_code == 200
    assert assert_unusable_dates_are_ignored(client, tenant_admin_site) > 50


def test_every_global_admin_list_ignores_dates_out_of_range(operator, root_client):
    connection.set_schema_to_public()
    root_client.force_login(operator)
    assert root_client.get("/admin/tenants/tenant/?created_at__year=2024").status_code == 200
    assert assert_unusable_dates_are_ignored(root_client, admin.site) > 20
