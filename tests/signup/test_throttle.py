"""Signup and its availability check are limited per client address."""

import pytest

from shared_apps.signup.throttle import parse_rate
from tenants.models import Tenant
from tests.signup.conftest import signup_data

pytestmark = pytest.mark.django_db


def test_signup_attempts_over_the_rate_get_429_with_retry_after_and_create_nothing(visitor, settings):
    settings.SIGNUP_RATE = "2/h"
    for company in ("a", "b"):  # refused signups count too: probing costs the same as signing up
        assert visitor.post("/signup/", signup_data(slug=company)).status_code == 400
    response = visitor.post("/signup/", signup_data())
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert b"Too many signup attempts" in response.content
    assert not Tenant.objects.filter(slug="initech").exists()
    # Viewing the form is not counted and still works.
    assert visitor.get("/signup/").status_code == 200


def test_the_limit_is_per_client_address(visitor, settings):
    settings.SIGNUP_RATE = "1/h"
    assert visitor.post("/signup/", signup_data(slug="a"), REMOTE_ADDR="192.0.2.1").status_code == 400
    assert visitor.post("/signup/", signup_data(slug="a"), REMOTE_ADDR="192.0.2.1").status_code == 429
    assert visitor.post("/signup/", signup_data(slug="a"), REMOTE_ADDR="192.0.2.2").status_code == 400


def test_behind_a_proxy_the_limit_follows_the_forwarded_client_address(visitor, settings):
    settings.SIGNUP_RATE = "1/h"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    first = visitor.post("/signup/", signup_data(slug="a"), HTTP_X_FORWARDED_FOR="192.0.2.1", **proxy)
    again = visitor.post("/signup/", signup_data(slug="a"), HTTP_X_FORWARDED_FOR="192.0.2.1", **proxy)
    other = visitor.post("/signup/", signup_data(slug="a"), HTTP_X_FORWARDED_FOR="192.0.2.2", **proxy)
    assert (first.status_code, again.status_code, other.status_code) == (400, 429, 400)


def test_availability_checks_over_their_rate_get_a_json_429(visitor, settings):
    settings.SIGNUP_CHECK_RATE = "3/m"
    for _ in range(3):
        assert visitor.get("/signup/check-slug/", {"slug": "initech"}).status_code == 200
    response = visitor.get("/signup/check-slug/", {"slug": "initech"})
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
    assert response.json() == {"detail": "Too many availability checks. Try again shortly."}


def test_the_two_limits_are_counted_apart(visitor, settings):
    settings.SIGNUP_CHECK_RATE = "1/m"
    settings.SIGNUP_RATE = "1/h"
    assert visitor.get("/signup/check-slug/", {"slug": "initech"}).status_code == 200
    assert visitor.post("/signup/", signup_data(slug="a")).status_code == 400


@pytest.mark.parametrize(
    ("rate", "parsed"), [("5/h", (5, 3600)), ("120/m", (120, 60)), ("1/day", (1, 86400))]
)
def test_rates_are_read_like_drfs(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["5", "x/h", "5/y", ""])
def test_a_malformed_rate_is_a_configuration_error(rate):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        parse_rate(rate)
