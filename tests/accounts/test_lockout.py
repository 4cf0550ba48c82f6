"""Sign-in throttling (django-axes): per account and per client address, on every sign-in door,
counted in the schema of the host (a lockout on acme never locks anyone out of globex)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT


def page_sign_in(host, email, password, ip="10.0.0.1"):
    return Client(HTTP_HOST=host, REMOTE_ADDR=ip).post(
        "/accounts/sign-in/", {"username": email, "password": password}
    )


def admin_sign_in(host, email, password, ip="10.0.0.1"):
    return Client(HTTP_HOST=host, REMOTE_ADDR=ip).post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}
    )


def token_sign_in(host, email, password, ip="10.0.0.1"):
    return APIClient(HTTP_HOST=host, REMOTE_ADDR=ip).post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )


def test_the_sign_in_page_locks_an_account_after_repeated_failures(tenant, member):
    host = tenant.primary_host
    for _ in range(LIMIT - 1):
        assert page_sign_in(host, member.email, "wrong").status_code == 200
    locked = page_sign_in(host, member.email, "wrong")
    assert locked.status_code == 429 and b"Too many failed sign-in attempts" in locked.content
    # Even the right password is refused now, from another address too, and in another case.
    assert page_sign_in(host, member.email.upper(), PASSWORD, ip="10.0.0.2").status_code == 429


def test_the_lock_lifts_after_the_cool_off(tenant, member):
    host = tenant.primary_host
    for _ in range(LIMIT):
        page_sign_in(host, member.email, "wrong")
    assert page_sign_in(host, member.email, PASSWORD).status_code == 429
    with tenant_context(tenant):
        AccessAttempt.objects.update(
            attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
        )
    assert page_sign_in(host, member.email, PASSWORD).status_code == 302


def test_one_address_failing_on_many_accounts_is_locked_out(tenant, member):
    host = tenant.primary_host
    for i in range(LIMIT):
        page_sign_in(host, f"guess{i}@acme.test", "wrong", ip="10.6.6.6")
    assert page_sign_in(host, member.email, PASSWORD, ip="10.6.6.6").status_code == 429
    assert page_sign_in(host, member.email, PASSWORD, ip="10.0.0.7").status_code == 302


def test_the_token_endpoint_locks_out_with_a_json_429(tenant, member):
    host = tenant.primary_host
    for _ in range(LIMIT - 1):
        assert token_sign_in(host, member.email, "wrong").status_code == 400
    response = token_sign_in(host, member.email, "wrong")
    assert response.status_code == 429
    assert response.json() == {"detail": "Too many failed sign-in attempts. Try again later."}
    assert token_sign_in(host, member.email, PASSWORD, ip="10.0.0.3").status_code == 429


def test_failures_on_the_page_count_for_the_token_endpoint_too(tenant, member):
    host = tenant.primary_host
    for _ in range(LIMIT):
        page_sign_in(host, member.email, "wrong")
    assert token_sign_in(host, member.email, PASSWORD, ip="10.0.0.4").status_code == 429


def test_the_tenant_admin_locks_out(tenant, admin):
    host = tenant.primary_host
    for _ in range(LIMIT):
        admin_sign_in(host, admin.email, "wrong")
    assert admin_sign_in(host, admin.email, PASSWORD, ip="10.0.0.5").status_code == 429


def test_the_global_admin_locks_out(make_user):
    make_user("ops@platform.test", None, is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        admin_sign_in(settings.BASE_DOMAIN, "ops@platform.test", "wrong")
    assert (
        admin_sign_in(settings.BASE_DOMAIN, "ops@platform.test", PASSWORD, ip="10.0.0.6").status_code == 429
    )


def test_the_operator_token_endpoint_locks_out(make_user):
    make_user("ops@platform.test", None, is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        token_sign_in(settings.BASE_DOMAIN, "ops@platform.test", "wrong")
    assert (
        token_sign_in(settings.BASE_DOMAIN, "ops@platform.test", PASSWORD, ip="10.0.0.8").status_code == 429
    )


def test_a_lockout_on_acme_does_not_lock_the_same_email_out_of_globex(tenant, other_tenant, make_role_user):
    make_role_user("twin@example.test", "member")
    make_role_user("twin@example.test", "member", other_tenant)
    for _ in range(LIMIT):
        page_sign_in(tenant.primary_host, "twin@example.test", "wrong")
    assert page_sign_in(tenant.primary_host, "twin@example.test", PASSWORD).status_code == 429
    assert page_sign_in(other_tenant.primary_host, "twin@example.test", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(tenant, member):
    host = tenant.primary_host
    for _ in range(LIMIT - 1):
        page_sign_in(host, member.email, "wrong")
    assert page_sign_in(host, member.email, PASSWORD).status_code == 302
    for _ in range(LIMIT - 1):
        page_sign_in(host, member.email, "wrong")
    assert page_sign_in(host, member.email, PASSWORD).status_code == 302


def test_behind_a_proxy_the_client_address_is_the_one_the_proxy_appended(tenant, member, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    host = tenant.primary_host

    # A client cannot dodge the lock by sending its own X-Forwarded-For entries.
    for i in range(LIMIT):
        client = Client(
            HTTP_HOST=host, REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR=f"1.1.1.{i}, 203.0.113.9"
        )
        client.post("/accounts/sign-in/", {"username": f"guess{i}@acme.test", "password": "wrong"})
    locked = Client(HTTP_HOST=host, REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert (
        locked.post("/accounts/sign-in/", {"username": member.email, "password": PASSWORD}).status_code == 429
    )
    # Another client behind the same proxy is not locked out.
    other = Client(HTTP_HOST=host, REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert (
        other.post("/accounts/sign-in/", {"username": member.email, "password": PASSWORD}).status_code == 302
    )
