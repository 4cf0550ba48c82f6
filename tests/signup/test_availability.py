"""The slug availability check the signup form calls as the visitor types."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "slug", "available", "message"),
    [
        ("initech", "initech", True, "'initech' is available."),
        ("  Initech ", "initech", True, "'initech' is available."),
        ("acme", "acme", False, "The slug 'acme' is already taken."),
        ("www", "www", False, "'www' is reserved; choose another name."),
        ("pg-stats", "pg-stats", False, "'pg-stats' is reserved; choose another name."),
        ("init_tech", "init_tech", False, "Use only lowercase letters, digits and hyphens."),
        ("initech-", "initech-", False, "A slug cannot end with a hyphen or contain two in a row."),
        ("", "", False, "A slug is required."),
    ],
)
def test_the_check_answers_whether_a_slug_is_free_and_why_not(
    visitor, tenant, typed, slug, available, message
):
    response = visitor.get("/signup/check-slug/", {"slug": typed})
    assert response.status_code == 200
    assert response.json() == {"slug": slug, "available": available, "message": message}
    assert "no-store" in response["Cache-Control"]


def test_the_check_without_a_slug_parameter_answers_not_available(visitor):
    assert visitor.get("/signup/check-slug/").json()["available"] is False


def test_a_huge_slug_gets_a_short_answer(visitor):
    response = visitor.get("/signup/check-slug/", {"slug": "a" * 5000})
    assert response.status_code == 200
    body = response.json()
    assert body["available"] is False and body["message"] == "A slug is 3 to 40 characters long."
    assert len(body["slug"]) == 100


def test_a_nul_byte_in_the_slug_is_refused_before_the_check(visitor):
    assert visitor.get("/signup/check-slug/?slug=ab%00c").status_code == 400


def test_the_check_is_not_served_on_a_tenants_host(tenant_client):
    assert tenant_client.get("/signup/check-slug/", {"slug": "initech"}).status_code == 404
