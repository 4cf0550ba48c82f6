"""Sign-in lockouts (django-axes with tenant_apps.accounts.lockout.AccountAddressHandler), on every
sign-in door: the sign-in page, the tenant and operator token endpoints, both admins.

The policy (README, "Accounts and API"):
- one account from one address: AXES_FAILURE_LIMIT failures lock that pair for the cool-off;
- one address across accounts, and one account across addresses: a wider limit each, which never
  applies to an address the account has signed in from before;
- failures against an account are cleared only by a success on that account (from that address);
- counted in the schema of the host: a lockout on acme never locks anyone out of globex.
"""

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenant_apps.accounts.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
ACCOUNT_LIMIT = settings.AXES_ACCOUNT_FAILURE_LIMIT
ADDRESS_LIMIT = settings.AXES_ADDRESS_FAILURE_LIMIT

LOCKED = 429


@dataclass
class Door:
    """One way to sign in, on one host, and what it answers."""

    name: str
    path: str
    api: bool
    root: bool  # the root domain (operators) rather than acme
    ok: int
    refused: int

    def sign_in(self, host, email, password, ip):
        if self.api:
            client = APIClient(HTTP_HOST=host, REMOTE_ADDR=ip)
            return client.post(self.path, {"email": email, "password": password}, format="json")
        client = Client(HTTP_HOST=host, REMOTE_ADDR=ip)
        return client.post(self.path, {"username": email, "password": password})


DOORS = [
    Door("page", "/accounts/sign-in/", api=False, root=False, ok=302, refused=200),
    Door("tenant-token", "/api/v1/auth/token/", api=True, root=False, ok=200, refused=400),
    Door("tenant-admin", "/admin/login/?next=/admin/", api=False, root=False, ok=302, refused=200),
    Door("global-admin", "/admin/login/?next=/admin/", api=False, root=True, ok=302, refused=200),
    Door("operator-token", "/api/v1/auth/token/", api=True, root=True, ok=200, refused=400),
]


@pytest.fixture(params=DOORS, ids=[door.name for door in DOORS])
def door(request, tenant, make_role_user, make_user):
    """A door, its host, and ``account(email)``: a user who may sign in there (admins and operators
    are staff, so the admin doors accept them)."""
    door = replace(request.param)
    if door.root:
        door.host = settings.BASE_DOMAIN
        door.account = lambda email: make_user(email, None, is_staff=True, is_superuser=True)
    else:
        door.host = tenant.primary_host
        door.account = lambda email: make_role_user(email, Role.ADMIN)
    return door


def attempt(door, email, password, ip):
    return door.sign_in(door.host, email, password, ip).status_code


# --- one account from one address ---------------------------------------------------------------


def test_repeated_failures_lock_the_account_from_that_address(door):
    victim = door.account("victim@acme.test")
    for _ in range(LIMIT - 1):
        assert attempt(door, victim.email, "wrong", "10.0.0.1") == door.refused
    assert attempt(door, victim.email, "wrong", "10.0.0.1") == LOCKED
    # The right password is refused from there too, in any case.
    assert attempt(door, victim.email.upper(), PASSWORD, "10.0.0.1") == LOCKED


def test_failures_from_one_address_do_not_lock_the_account_out_of_another(door):
    victim = door.account("victim@acme.test")
    for _ in range(LIMIT + 3):
        attempt(door, victim.email, "wrong", "10.6.6.6")
    assert attempt(door, victim.email, PASSWORD, "10.6.6.6") == LOCKED
    assert attempt(door, victim.email, PASSWORD, "10.0.0.7") == door.ok


def test_an_attackers_own_sign_in_does_not_clear_failures_against_another_account(door):
    victim = door.account("victim@acme.test")
    attacker = door.account("attacker@acme.test")
    for _ in range(LIMIT - 1):
        assert attempt(door, victim.email, "wrong", "10.6.6.6") == door.refused
    assert attempt(door, attacker.email, PASSWORD, "10.6.6.6") == door.ok
    assert attempt(door, victim.email, "wrong", "10.6.6.6") == LOCKED


def test_a_success_on_the_account_clears_its_failures_from_that_address(door):
    victim = door.account("victim@acme.test")
    for _ in range(LIMIT - 1):
        attempt(door, victim.email, "wrong", "10.0.0.1")
    assert attempt(door, victim.email, PASSWORD, "10.0.0.1") == door.ok
    for _ in range(LIMIT - 1):
        assert attempt(door, victim.email, "wrong", "10.0.0.1") == door.refused
    assert attempt(door, victim.email, PASSWORD, "10.0.0.1") == door.ok


def test_the_lock_lifts_after_the_cool_off(door, tenant):
    victim = door.account("victim@acme.test")
    for _ in range(LIMIT):
        attempt(door, victim.email, "wrong", "10.0.0.1")
    assert attempt(door, victim.email, PASSWORD, "10.0.0.1") == LOCKED
    expired = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    if door.root:
        AccessAttempt.objects.update(attempt_time=expired)
    else:
        with tenant_context(tenant):
            AccessAttempt.objects.update(attempt_time=expired)
    assert attempt(door, victim.email, PASSWORD, "10.0.0.1") == door.ok


# --- one account across addresses ---------------------------------------------------------------


def spread_failures(door, email, total, first_octet=20):
    """``total`` failures against ``email``, from as many addresses as the pair limit requires."""
    for i in range(total):
        attempt(door, email, "wrong", f"10.{first_octet}.{i // (LIMIT - 1)}.1")


def test_many_addresses_failing_on_one_account_lock_it_for_new_addresses(door):
    victim = door.account("victim@acme.test")
    spread_failures(door, victim.email, ACCOUNT_LIMIT)
    assert attempt(door, victim.email, PASSWORD, "10.99.0.1") == LOCKED


def test_the_owner_still_signs_in_from_an_address_used_before(door):
    victim = door.account("victim@acme.test")
    assert attempt(door, victim.email, PASSWORD, "192.0.2.10") == door.ok  # home, yesterday
    spread_failures(door, victim.email, ACCOUNT_LIMIT + 5)
    assert attempt(door, victim.email, PASSWORD, "10.99.0.1") == LOCKED
    assert attempt(door, victim.email, PASSWORD, "192.0.2.10") == door.ok


def test_attempts_refused_during_a_lock_do_not_extend_it(door):
    # Otherwise one address could keep hammering a locked pair and feed the account-wide count.
    victim = door.account("victim@acme.test")
    for _ in range(LIMIT + 20):
        attempt(door, victim.email, "wrong", "10.6.6.6")
    assert attempt(door, victim.email, PASSWORD, "10.99.0.1") == door.ok


# --- one address across accounts ----------------------------------------------------------------


def test_one_address_failing_on_many_accounts_is_locked_out(door):
    regular = door.account("regular@acme.test")
    assert attempt(door, regular.email, PASSWORD, "10.6.6.6") == door.ok  # shares the address
    newcomer = door.account("newcomer@acme.test")
    for i in range(ADDRESS_LIMIT):
        attempt(door, f"guess{i // (LIMIT - 1)}@acme.test", "wrong", "10.6.6.6")
    assert attempt(door, newcomer.email, PASSWORD, "10.6.6.6") == LOCKED
    assert attempt(door, newcomer.email, PASSWORD, "10.0.0.7") == door.ok
    # An account that has signed in from that address before is not locked out of it.
    assert attempt(door, regular.email, PASSWORD, "10.6.6.6") == door.ok


# --- per schema, and behind a proxy -------------------------------------------------------------


def test_the_tenant_doors_share_one_count(tenant, make_role_user):
    page, token, tenant_admin = DOORS[0], DOORS[1], DOORS[2]
    victim = make_role_user("victim@acme.test", Role.ADMIN)
    host = tenant.primary_host
    for _ in range(LIMIT - 1):
        page.sign_in(host, victim.email, "wrong", "10.0.0.1")
    assert token.sign_in(host, victim.email, "wrong", "10.0.0.1").status_code == LOCKED
    assert tenant_admin.sign_in(host, victim.email, PASSWORD, "10.0.0.1").status_code == LOCKED
    response = token.sign_in(host, victim.email, PASSWORD, "10.0.0.1")
    assert response.json() == {"detail": "Too many failed sign-in attempts. Try again later."}
    page_response = page.sign_in(host, victim.email, PASSWORD, "10.0.0.1")
    assert b"Too many failed sign-in attempts" in page_response.content


def test_a_lockout_on_acme_does_not_lock_the_same_email_out_of_globex(tenant, other_tenant, make_role_user):
    page = DOORS[0]
    make_role_user("twin@example.test", Role.MEMBER)
    make_role_user("twin@example.test", Role.MEMBER, other_tenant)
    for _ in range(LIMIT):
        page.sign_in(tenant.primary_host, "twin@example.test", "wrong", "10.0.0.1")
    acme = page.sign_in(tenant.primary_host, "twin@example.test", PASSWORD, "10.0.0.1")
    globex = page.sign_in(other_tenant.primary_host, "twin@example.test", PASSWORD, "10.0.0.1")
    assert acme.status_code == LOCKED and globex.status_code == 302


def test_behind_a_proxy_the_client_address_is_the_one_the_proxy_appended(tenant, member, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    host = tenant.primary_host

    def sign_in(forwarded_for, password):
        client = Client(HTTP_HOST=host, REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
        return client.post("/accounts/sign-in/", {"username": member.email, "password": password})

    # A client cannot dodge the lock by sending its own X-Forwarded-For entries.
    for i in range(LIMIT):
        sign_in(f"1.1.1.{i}, 203.0.113.9", "wrong")
    assert sign_in("203.0.113.9", PASSWORD).status_code == LOCKED
    # Another client behind the same proxy is not locked out.
    assert sign_in("198.51.100.4", PASSWORD).status_code == 302
