"""Two-factor sign-in in a workspace (tenant_apps/accounts/two_factor.py): turning it on and off,
the code step of every sign-in, throttling, recovery codes, the owner's policy, the tenant admin
and the API's token exchange. Codes are computed from the device's key, as the app does."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from tenant_apps.accounts import handoff
from tenants import second_factor
from tenants.security import set_two_factor_required
from tests.accounts.test_onboarding import choose, link_in, open_link
from tests.clients import api_client_for, host_client, signed_in_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

CODE_STEP = "/accounts/sign-in/code/"
MANAGE = "/account/two-factor/"


def add_device(tenant, user) -> TOTPDevice:
    with tenant_context(tenant):
        return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def add_recovery_codes(tenant, user) -> list[str]:
    with tenant_context(tenant):
        return second_factor.replace_recovery_codes(user)


def code_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_of(device)) + 500_000) % 1_000_000:06d}"


def sign_in(client, email, password=PASSWORD, next_url=None):
    data = {"username": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/sign-in/", data)


def signed_in_as(client):
    """The user the workspace sees on this browser (None: signed out or not past the code step)."""
    response = client.get("/projects/")
    if response.status_code == 200:
        return response.wsgi_request.user.email
    return None


def require(tenant, required=True):
    with tenant_context(tenant):
        set_two_factor_required(tenant, required)


# --- Turning it on ------------------------------------------------------------------------------


def test_a_user_turns_two_factor_on_with_a_code_and_sees_the_secret_and_recovery_codes_once(tenant, member):
    client = signed_in_client(tenant, member)
    setup = client.post(f"{MANAGE}enable/")
    assert setup.status_code == 200
    body = setup.content.decode()
    assert "<svg" in body
    with tenant_context(tenant):
        device = TOTPDevice.objects.get(user=member)
    assert not device.confirmed
    assert second_factor.secret_of(device) in body
    assert setup["Cache-Control"].startswith("max-age=0") and "no-store" in setup["Cache-Control"]

    assert client.post(f"{MANAGE}confirm/", {"code": wrong_code(device)}).status_code == 400
    with tenant_context(tenant):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    done = client.post(f"{MANAGE}confirm/", {"code": code_of(device)})
    assert done.status_code == 200
    with tenant_context(tenant):
        device.refresh_from_db()
        codes = list(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert device.confirmed and len(codes) == 10
    for code in codes:
        assert f"{code[:4]}-{code[4:]}" in done.content.decode()

    # The session that confirmed stays signed in; nothing shows the secret or the codes again.
    page = client.get(MANAGE)
    assert page.status_code == 200 and "On" in page.content.decode()
    assert second_factor.secret_of(device) not in page.content.decode()
    assert not any(code[:4] in page.content.decode() for code in codes)
    assert signed_in_as(client) == member.email


def test_the_setup_is_refused_without_a_post_and_for_a_signed_out_browser(tenant, member, tenant_client):
    assert signed_in_client(tenant, member).get(f"{MANAGE}enable/").status_code == 405
    response = tenant_client.post(f"{MANAGE}enable/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")


@pytest.mark.parametrize("persona", ["owner", "admin", "member", "nobody"])
def test_every_user_of_the_workspace_manages_their_own_two_factor(request, tenant, persona):
    user = request.getfixturevalue(persona)
    page = signed_in_client(tenant, user).get(MANAGE)
    assert page.status_code == 200 and "Set up two-factor sign-in" in page.content.decode()
    assert signed_in_client(tenant, user).post(f"{MANAGE}enable/").status_code == 200


@pytest.mark.parametrize("persona", ["outsider", "stranger", "operator"])
def test_nobody_else_reaches_the_two_factor_pages(request, tenant, other_tenant, persona):
    user = request.getfixturevalue(persona)
    client = host_client(tenant.primary_host)
    if persona == "stranger":
        client = signed_in_client(other_tenant, user)  # a globex session, sent to acme's host
        client.defaults["HTTP_HOST"] = tenant.primary_host
    elif persona == "operator":
        client.force_login(user)  # a public-schema session: no such session in acme's schema
    for path in (MANAGE, f"{MANAGE}enable/", f"{MANAGE}recovery-codes/", f"{MANAGE}policy/"):
        response = client.post(path) if path != MANAGE else client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/"), path


# --- The code step of a sign-in -----------------------------------------------------------------


def test_signing_in_with_a_device_asks_for_the_code_before_there_is_a_session(tenant, member, tenant_client):
    device = add_device(tenant, member)
    response = sign_in(tenant_client, member.email, next_url="/projects/")
    assert response.status_code == 302 and response["Location"] == CODE_STEP
    assert signed_in_as(tenant_client) is None  # the password alone opens nothing

    assert tenant_client.get(CODE_STEP).status_code == 200
    response = tenant_client.post(CODE_STEP, {"code": code_of(device)})
    assert response.status_code == 302 and response["Location"] == "/projects/"
    assert signed_in_as(tenant_client) == member.email
    assert tenant_client.get(MANAGE).status_code == 200


def test_a_password_reset_asks_for_the_code_before_signing_in(tenant, member, tenant_client):
    device = add_device(tenant, member)
    tenant_client.post("/accounts/password-reset/", {"email": member.email})
    _, form_path = open_link(tenant_client, link_in("accounts/password_reset", member.email))
    done = choose(tenant_client, form_path)
    assert done.status_code == 302 and done["Location"] == CODE_STEP
    assert signed_in_as(tenant_client) is None
    assert tenant_client.post(CODE_STEP, {"code": code_of(device)})["Location"] == "/projects/"
    assert signed_in_as(tenant_client) == member.email


def test_a_login_hand_off_asks_for_the_code_before_signing_in(tenant, member, tenant_client):
    device = add_device(tenant, member)
    with tenant_context(tenant):
        url = handoff.issue_login_handoff(member, "/projects/")
    response = tenant_client.get(urlsplit(url).path)
    assert response.status_code == 302 and response["Location"] == CODE_STEP
    assert signed_in_as(tenant_client) is None
    assert tenant_client.post(CODE_STEP, {"code": code_of(device)})["Location"] == "/projects/"


def test_a_user_without_a_device_signs_in_with_the_password_alone(tenant, member, tenant_client):
    response = sign_in(tenant_client, member.email)
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(tenant_client) == member.email


def test_the_code_step_without_a_password_first_sends_to_sign_in(tenant_client, tenant):
    response = tenant_client.post(CODE_STEP, {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"


def test_a_wrong_code_is_refused_and_the_next_try_is_throttled(tenant, member, tenant_client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute after the first failure: no race with the clock
    device = add_device(tenant, member)
    sign_in(tenant_client, member.email)
    wrong = tenant_client.post(CODE_STEP, {"code": wrong_code(device)})
    assert wrong.status_code == 400 and second_factor.WRONG_CODE in wrong.content.decode()
    right = tenant_client.post(CODE_STEP, {"code": code_of(device)})
    assert right.status_code == 400 and "Too many wrong codes. Wait" in right.content.decode()
    assert signed_in_as(tenant_client) is None
    with tenant_context(tenant):
        device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_five_wrong_codes_end_the_sign_in(tenant, member, tenant_client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = add_device(tenant, member)
    sign_in(tenant_client, member.email)
    for _ in range(4):
        assert tenant_client.post(CODE_STEP, {"code": wrong_code(device)}).status_code == 400
    response = tenant_client.post(CODE_STEP, {"code": wrong_code(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
    # The right code no longer helps: the password must be given again.
    response = tenant_client.post(CODE_STEP, {"code": code_of(device)})
    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
    assert signed_in_as(tenant_client) is None


def test_a_code_of_the_app_is_accepted_once(tenant, member):
    device = add_device(tenant, member)
    code = code_of(device)
    first = host_client(tenant.primary_host)
    sign_in(first, member.email)
    assert first.post(CODE_STEP, {"code": code}).status_code == 302
    second = host_client(tenant.primary_host)
    sign_in(second, member.email)
    reused = second.post(CODE_STEP, {"code": code})
    assert reused.status_code == 400 and signed_in_as(second) is None


def test_a_recovery_code_signs_in_once(tenant, member, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    add_device(tenant, member)
    codes = add_recovery_codes(tenant, member)
    first = host_client(tenant.primary_host)
    sign_in(first, member.email)
    assert first.post(CODE_STEP, {"code": codes[0].upper()}).status_code == 302
    assert signed_in_as(first) == member.email
    with tenant_context(tenant):
        assert second_factor.recovery_codes_left(member) == 9

    second = host_client(tenant.primary_host)
    sign_in(second, member.email)
    assert second.post(CODE_STEP, {"code": codes[0]}).status_code == 400
    assert signed_in_as(second) is None


def test_a_device_and_codes_of_globex_mean_nothing_on_acme(tenant, other_tenant, member, make_user, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    twin = make_user(member.email, other_tenant)  # the same address, an account of globex
    globex_device = add_device(other_tenant, twin)
    globex_codes = add_recovery_codes(other_tenant, twin)

    # acme's member has no device in acme's schema: the password alone signs in there.
    client = host_client(tenant.primary_host)
    sign_in(client, member.email)
    assert signed_in_as(client) == member.email

    # With a device of their own on acme, globex's codes are refused.
    acme_device = add_device(tenant, member)
    client = host_client(tenant.primary_host)
    sign_in(client, member.email)
    for code in (code_of(globex_device), globex_codes[0]):
        if code == code_of(acme_device):
            continue  # one chance in a million that both keys show the same code now
        assert client.post(CODE_STEP, {"code": code}).status_code == 400
    assert signed_in_as(client) is None


@pytest.mark.parametrize("code", ["12\x0034", "1" * 100, "x" * 33])
def test_a_malformed_code_is_a_400_on_the_field(tenant, member, tenant_client, code):
    add_device(tenant, member)
    sign_in(tenant_client, member.email)
    response = tenant_client.post(CODE_STEP, {"code": code})
    assert response.status_code == 400
    assert signed_in_as(tenant_client) is None


# --- Turning it off, recovery codes ---------------------------------------------------------------


def verified_client(tenant, user, device):
    client = host_client(tenant.primary_host)
    sign_in(client, user.email)
    assert client.post(CODE_STEP, {"code": code_of(device)}).status_code == 302
    return client


def test_turning_two_factor_off_needs_a_current_code_or_the_password(tenant, member):
    device = add_device(tenant, member)
    client = verified_client(tenant, member, device)
    refused = client.post(f"{MANAGE}disable/", {"password": "not the password"})
    assert refused.status_code == 400
    with tenant_context(tenant):
        assert second_factor.has_device(member)
    assert client.post(f"{MANAGE}disable/", {"password": PASSWORD}).status_code == 302
    with tenant_context(tenant):
        assert not second_factor.has_device(member)
    again = host_client(tenant.primary_host)
    assert sign_in(again, member.email)["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(tenant, member):
    device = add_device(tenant, member)
    old = add_recovery_codes(tenant, member)
    client = verified_client(tenant, member, device)
    response = client.post(f"{MANAGE}recovery-codes/")
    assert response.status_code == 200
    with tenant_context(tenant):
        tokens = set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True))
    assert len(tokens) == 10 and not tokens & {code.replace("-", "") for code in old}
    assert all(f"{t[:4]}-{t[4:]}" in response.content.decode() for t in tokens)


# --- The owner's policy ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "member", "nobody"])
def test_only_an_owner_changes_the_workspace_policy(request, tenant, persona):
    user = request.getfixturevalue(persona)
    device = add_device(tenant, user)  # two-factor of their own does not make them an owner
    client = verified_client(tenant, user, device)
    assert client.post(f"{MANAGE}policy/", {"required": "on"}).status_code == 403
    tenant.refresh_from_db()
    assert not tenant.two_factor_required


def test_an_owner_requires_two_factor_only_with_their_own(tenant, owner):
    client = signed_in_client(tenant, owner)
    assert client.post(f"{MANAGE}policy/", {"required": "on"}).status_code == 400
    tenant.refresh_from_db()
    assert not tenant.two_factor_required

    device = add_device(tenant, owner)
    client = verified_client(tenant, owner, device)
    assert client.post(f"{MANAGE}policy/", {"required": "on"}).status_code == 302
    tenant.refresh_from_db()
    assert tenant.two_factor_required
    assert client.post(f"{MANAGE}policy/", {"required": ""}).status_code == 302
    tenant.refresh_from_db()
    assert not tenant.two_factor_required


def test_when_required_a_member_without_a_device_reaches_only_the_setup_page(tenant, owner, member):
    device = add_device(tenant, owner)
    verified_client(tenant, owner, device).post(f"{MANAGE}policy/", {"required": "on"})
    client = signed_in_client(tenant, member)
    # The next request on acme sees the change (saving the row forgets the cached host).
    for path in ("/projects/", "/", "/admin/", "/accounts/password/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == MANAGE, path
    page = client.get(MANAGE)
    assert page.status_code == 200 and "requires two-factor sign-in" in page.content.decode()
    assert client.get("/accounts/sign-out/").status_code == 200
    assert client.get("/accounts/password-reset/").status_code == 200  # a door to another account
    assert client.get("/api/v1/me/").status_code == 403  # the session, not a token

    # Setting it up opens the workspace again.
    client.post(f"{MANAGE}enable/")
    with tenant_context(tenant):
        pending = TOTPDevice.objects.get(user=member, confirmed=False)
    assert client.post(f"{MANAGE}confirm/", {"code": code_of(pending)}).status_code == 200
    assert signed_in_as(client) == member.email


def test_when_required_nobody_turns_their_own_two_factor_off(tenant, member):
    device = add_device(tenant, member)
    client = verified_client(tenant, member, device)
    require(tenant)
    assert client.post(f"{MANAGE}disable/", {"password": PASSWORD}).status_code == 400
    with tenant_context(tenant):
        assert second_factor.has_device(member)


def test_a_session_without_its_code_is_sent_to_the_code_step(tenant, member):
    # A browser signed in before two-factor was turned on elsewhere.
    client = signed_in_client(tenant, member)
    device = add_device(tenant, member)
    response = client.get("/projects/?page=2")
    assert response.status_code == 302 and response["Location"] == f"{CODE_STEP}?next=/projects/%3Fpage%3D2"
    response = client.post(response["Location"], {"code": code_of(device)})
    assert response.status_code == 302 and response["Location"] == "/projects/?page=2"
    assert signed_in_as(client) == member.email


def test_the_code_steps_next_stays_on_this_host(tenant, member):
    client = signed_in_client(tenant, member)
    device = add_device(tenant, member)
    response = client.post(f"{CODE_STEP}?next=https://evil.example/", {"code": code_of(device)})
    assert response.status_code == 302 and response["Location"] == "/"


# --- The tenant admin is not a side door ----------------------------------------------------------


def test_the_tenant_admin_login_does_not_skip_the_code(tenant, make_user):
    boss = make_user("boss@acme.test", tenant, is_staff=True, is_superuser=True)
    device = add_device(tenant, boss)
    client = host_client(tenant.primary_host)
    response = client.post("/admin/login/?next=/admin/", {"username": boss.email, "password": PASSWORD})
    assert response.status_code == 302
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith(CODE_STEP)
    assert client.get("/admin/accounts/user/").status_code == 302
    response = client.post(admin["Location"], {"code": code_of(device)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_tenant_admin_refuses_an_unverified_session_by_itself(rf, tenant, make_user):
    from tenants.admin_site import tenant_admin_site

    boss = make_user("boss@acme.test", tenant, is_staff=True, is_superuser=True)

    def admin_request(verified: bool):
        request = rf.get("/admin/")
        request.tenant = tenant
        request.user = boss
        boss.is_verified = lambda: verified
        return request

    with tenant_context(tenant):
        assert tenant_admin_site.has_permission(admin_request(verified=False))  # no device yet
        add_device(tenant, boss)
        assert not tenant_admin_site.has_permission(admin_request(verified=False))
        assert tenant_admin_site.has_permission(admin_request(verified=True))


# --- The API's token exchange ---------------------------------------------------------------------


def get_token(tenant, email, **extra):
    client = api_client_for(tenant.primary_host)
    return client.post("/api/v1/auth/token/", {"email": email, "password": PASSWORD, **extra}, format="json")


def test_a_user_with_a_device_gives_the_code_for_a_token(tenant, member):
    device = add_device(tenant, member)
    response = get_token(tenant, member.email)
    assert response.status_code == 400 and set(response.json()) >= {"code"}
    response = get_token(tenant, member.email, code=code_of(device))
    assert response.status_code == 200 and response.json()["token"]


def test_when_required_a_token_needs_a_code_and_a_device(tenant, member, admin):
    require(tenant)
    refused = get_token(tenant, member.email)
    assert refused.status_code == 400
    assert second_factor.SET_UP_FIRST in str(refused.json()["code"])

    device = add_device(tenant, admin)
    assert get_token(tenant, admin.email).status_code == 400
    assert get_token(tenant, admin.email, code=wrong_code(device)).status_code == 400
    with tenant_context(tenant):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    assert get_token(tenant, admin.email, code=code_of(device)).status_code == 200


def test_the_policy_of_acme_does_not_reach_globex(tenant, other_tenant, stranger):
    require(tenant)
    assert get_token(other_tenant, stranger.email).status_code == 200


def test_a_wrong_password_says_nothing_about_two_factor(tenant, member):
    add_device(tenant, member)
    response = api_client_for(tenant.primary_host).post(
        "/api/v1/auth/token/", {"email": member.email, "password": "wrong"}, format="json"
    )
    assert response.status_code == 400 and "code" not in response.json()


@pytest.mark.parametrize("code", ["12\x0034", "1" * 100])
def test_a_malformed_code_for_a_token_is_a_400_on_the_field(tenant, member, code):
    add_device(tenant, member)
    response = get_token(tenant, member.email, code=code)
    assert response.status_code == 400 and "code" in response.json()


def test_turning_the_policy_on_forgets_the_cached_host(tenant, tenant_client):
    assert not tenant_client.get("/accounts/sign-in/").wsgi_request.tenant.two_factor_required
    require(tenant)
    assert tenant_client.get("/accounts/sign-in/").wsgi_request.tenant.two_factor_required


def test_no_admin_shows_a_devices_key_or_the_recovery_codes():
    assert settings.OTP_ADMIN_HIDE_SENSITIVE_DATA


def test_a_recovery_code_of_digits_only_is_still_a_recovery_code(tenant, member):
    add_device(tenant, member)
    add_recovery_codes(tenant, member)
    with tenant_context(tenant):
        device = StaticToken.objects.filter(device__user=member).first().device
        device.token_set.create(token="23456723")  # base32 can draw digits only
        assert second_factor.verify(member, "2345-6723") == device
        assert second_factor.recovery_codes_left(member) == 10
