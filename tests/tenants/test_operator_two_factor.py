"""Operators' second factor (tenants/operator_two_factor.py): with OPERATOR_TWO_FACTOR_REQUIRED (the
production default), the global admin and the operator API's tokens need a verified code."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.clients import api_client_for
from tests.factories import PASSWORD
from tests.test_settings import PRODUCTION_ENV, settings_under

pytestmark = pytest.mark.django_db

PAGE = "/admin/two-factor/"


def code_of(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.fixture
def required(settings):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = True


@pytest.fixture
def operator(make_user):
    return make_user("ops@platform.test", None, is_staff=True, is_superuser=True)


def admin_sign_in(client, email):
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_production_requires_it_by_default_and_development_does_not(monkeypatch):
    assert settings_under(monkeypatch, **PRODUCTION_ENV)["OPERATOR_TWO_FACTOR_REQUIRED"] is True
    monkeypatch.delenv("DJANGO_ENV", raising=False)
    assert settings_under(monkeypatch)["OPERATOR_TWO_FACTOR_REQUIRED"] is False
    off = settings_under(monkeypatch, **PRODUCTION_ENV, OPERATOR_TWO_FACTOR_REQUIRED="false")
    assert off["OPERATOR_TWO_FACTOR_REQUIRED"] is False


def test_an_operator_without_a_device_reaches_only_the_enrollment(required, operator, root_client):
    admin_sign_in(root_client, operator.email)
    for path in ("/admin/", "/admin/tenants/tenant/", "/admin/activity/", "/admin/otp_totp/totpdevice/"):
        response = root_client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(f"{PAGE}?next="), path
    assert root_client.get("/api/v1/tenants/").status_code == 403  # the session on the API

    page = root_client.get(PAGE)
    assert page.status_code == 200 and "Set up an authenticator app" in page.content.decode()
    started = root_client.post(PAGE, {"action": "start", "next": "/admin/"})
    assert started.status_code == 200 and "<svg" in started.content.decode()
    device = TOTPDevice.objects.get(user=operator, confirmed=False)
    done = root_client.post(PAGE, {"action": "confirm", "code": code_of(device), "next": "/admin/"})
    assert done.status_code == 200
    codes = StaticToken.objects.filter(device__user=operator).values_list("token", flat=True)
    assert len(codes) == 10 and all(f"{c[:4]}-{c[4:]}" in done.content.decode() for c in codes)
    assert root_client.get("/admin/").status_code == 200


def test_an_operator_with_a_device_gives_the_code_after_the_password(
    required, operator, root_client, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    admin_sign_in(root_client, operator.email)
    response = root_client.get("/admin/tenants/tenant/")
    assert (
        response.status_code == 302 and response["Location"] == f"{PAGE}?next=%2Fadmin%2Ftenants%2Ftenant%2F"
    )
    wrong = root_client.post(response["Location"], {"action": "verify", "code": "000000"})
    assert wrong.status_code == 400 or code_of(device) == "000000"
    response = root_client.post(response["Location"], {"action": "verify", "code": code_of(device)})
    assert response.status_code == 302 and response["Location"] == "/admin/tenants/tenant/"
    assert root_client.get("/admin/tenants/tenant/").status_code == 200


def test_a_device_is_asked_for_even_where_not_required(operator, root_client, settings):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = False
    TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    admin_sign_in(root_client, operator.email)
    assert root_client.get("/admin/")["Location"].startswith(PAGE)


def test_without_the_setting_an_operator_without_a_device_signs_in_with_the_password(
    operator, root_client, settings
):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = False
    admin_sign_in(root_client, operator.email)
    assert root_client.get("/admin/").status_code == 200


def test_the_enrollment_page_is_for_signed_in_operators_only(required, root_client, make_user):
    assert root_client.get(PAGE)["Location"].startswith("/admin/login/")
    make_user("user@platform.test", None)  # a public-schema account that is no operator
    root_client.post("/admin/login/?next=/admin/", {"username": "user@platform.test", "password": PASSWORD})
    assert root_client.post(PAGE, {"action": "start"})["Location"].startswith("/admin/login/")
    assert not TOTPDevice.objects.exists()


def get_token(**extra):
    from django.conf import settings

    client = api_client_for(settings.BASE_DOMAIN)
    return client.post(
        "/api/v1/auth/token/", {"email": "ops@platform.test", "password": PASSWORD, **extra}, format="json"
    )


def test_the_operator_token_needs_a_device_and_its_code_when_required(required, operator):
    refused = get_token()
    assert refused.status_code == 400 and "set up an authenticator app" in str(refused.json()["code"])
    device = TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    assert get_token().status_code == 400
    assert get_token(code="1" * 100).status_code == 400
    response = get_token(code=code_of(device))
    assert response.status_code == 200 and response.json()["token"]


def test_without_the_setting_the_operator_token_needs_only_the_password(operator, settings):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = False
    assert get_token().status_code == 200
