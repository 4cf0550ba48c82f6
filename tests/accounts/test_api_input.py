"""Bad input gets a 4xx with field errors, never a 500 (format: see config/api/errors.py)."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "payload, errors",
    [
        ({}, {"email", "password"}),
        ({"email": "not-an-email", "password": "x"}, {"email"}),
        ({"email": ["a@b.test"], "password": {"x": 1}}, {"email", "password"}),
        ({"email": "a" * 300 + "@b.test", "password": "x"}, {"email"}),
        ({"email": None, "password": None}, {"email", "password"}),
    ],
)
def test_bad_token_requests_get_field_errors(outsider_api, payload, errors):
    response = outsider_api.post("/api/v1/auth/token/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == errors


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "email"),
        ({"email": 42}, "email"),
        ({"email": "x@y.test", "role": "emperor"}, "role"),
        ({"email": "x@y.test", "role": ["owner"]}, "role"),
        ({"email": "nul\x00@y.test"}, "email"),
    ],
)
def test_bad_invitations_get_field_errors(api_client, owner, payload, field):
    response = api_client(owner).post("/api/v1/invitations/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("payload", [{}, {"role": None}, {"role": 3}, {"role": "boss"}])
def test_bad_role_changes_get_field_errors(api_client, owner, member, payload):
    response = api_client(owner).patch(f"/api/v1/users/{member.public_id}/", payload, format="json")
    assert response.status_code == 400 and "role" in response.json()


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"just a string"', b"\xff\xfe", b"null"])
def test_malformed_json_is_a_400(api_client, owner, body):
    response = api_client(owner).generic(
        "POST", "/api/v1/invitations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()


def test_a_form_encoded_body_is_a_415(api_client, owner):
    response = api_client(owner).post("/api/v1/invitations/", {"email": "a@b.test"}, format="multipart")
    assert response.status_code == 415


def test_an_oversized_payload_is_a_413(api_client, owner):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api_client(owner).post(
        "/api/v1/invitations/", {"email": "a@b.test", "pad": padding}, format="json"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}


def test_an_unsupported_method_is_a_405(api_client, owner):
    assert api_client(owner).put("/api/v1/me/", {}, format="json").status_code == 405


def test_requests_beyond_the_per_user_rate_are_throttled(api_client, member, settings):
    settings.API_THROTTLE_RATES = {"user": "3/min", "anon": "3/min"}
    client = api_client(member)
    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_throttle_buckets_are_per_schema(tenant, other_tenant, api_client, member, stranger, settings):
    # member (acme) and stranger (globex) may share a primary key; their buckets must not.
    settings.API_THROTTLE_RATES = {"user": "2/min", "anon": "2/min"}
    acme = api_client(member)
    for _ in range(2):
        acme.get("/api/v1/me/")
    assert acme.get("/api/v1/me/").status_code == 429
    globex = api_client(stranger, where=other_tenant)
    assert globex.get("/api/v1/me/").status_code == 200
