"""The profile (/account/): every persona sees their own name, sessions and API tokens, and revokes
only their own; another user's or another workspace's session or token answers 404."""

import re
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context
from knox.models import AuthToken

from tenant_apps.accounts.models import UserSession
from tests.conftest import PASSWORD, host_client

pytestmark = pytest.mark.django_db

PERSONAS = ["owner", "admin", "member", "nobody"]


def sign_in(client, email, password=PASSWORD, agent="Browser/1.0"):
    response = client.post(
        "/accounts/sign-in/", {"username": email, "password": password}, HTTP_USER_AGENT=agent
    )
    assert response.status_code == 302
    return client


def text_of(page) -> str:
    return page if isinstance(page, str) else page.content.decode()


def session_ids(page) -> list[str]:
    return re.findall(r"/account/sessions/([0-9a-f-]{36})/revoke/", text_of(page))


def token_prefixes(page) -> list[str]:
    return re.findall(r"/account/tokens/([^/]+)/revoke/", text_of(page))


def api_works(tenant, token) -> bool:
    from tests.clients import api_client_for

    return api_client_for(tenant.primary_host, token).get("/api/v1/me/").status_code == 200


def row_of(tenant, user) -> UserSession:
    with tenant_context(tenant):
        return UserSession.objects.get(user=user)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_sees_their_own_profile_and_nobody_elses(persona, request, tenant, web, member):
    user = request.getfixturevalue(persona)
    browser = web(user)
    other = web(member) if persona != "member" else web(request.getfixturevalue("admin"))
    from tests.clients import issue_token

    issue_token(tenant, user)
    theirs = issue_token(tenant, member if persona != "member" else request.getfixturevalue("admin"))

    page = browser.get("/account/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<h1>Your profile</h1>" in text and user.email in text
    assert 'href="/settings/notifications/"' in text and 'href="/accounts/password/"' in text
    assert 'href="/account/"' in text  # the account menu's "Profile"
    # Exactly one session (this browser, marked) and one token: their own.
    [mine] = session_ids(page)
    assert mine == str(row_of(tenant, user).public_id) and "This browser" in text
    [prefix] = token_prefixes(page)
    assert theirs[:8] not in text and len(prefix) == 8
    # The other user's session is not listed, and its id answers 404 like a made-up one.
    other_row = row_of(tenant, member if persona != "member" else request.getfixturevalue("admin"))
    assert str(other_row.public_id) not in text
    assert browser.post(f"/account/sessions/{other_row.public_id}/revoke/").status_code == 404
    assert browser.post(f"/account/sessions/{uuid.uuid4()}/revoke/").status_code == 404
    assert browser.post(f"/account/tokens/{theirs[:8]}/revoke/").status_code == 404
    assert other.get("/projects/").status_code == 200 and api_works(tenant, theirs)


def test_the_session_key_is_never_on_the_page(tenant, web, member):
    browser = web(member)
    page = browser.get("/account/").content.decode()
    assert browser.cookies[settings.SESSION_COOKIE_NAME].value not in page
    assert row_of(tenant, member).session_key not in page


def test_an_outsider_is_sent_to_sign_in(tenant_client):
    for method, path in [
        ("get", "/account/"),
        ("post", "/account/"),
        ("post", f"/account/sessions/{uuid.uuid4()}/revoke/"),
        ("post", "/account/sessions/revoke-others/"),
        ("post", "/account/tokens/abcdefgh/revoke/"),
        ("post", "/account/tokens/revoke-all/"),
    ]:
        response = getattr(tenant_client, method)(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/"), path


def test_another_workspaces_session_cookie_means_nothing_on_acme(tenant, other_tenant, stranger, web):
    globex = web(stranger, other_tenant)
    acme = host_client(tenant.primary_host)
    acme.cookies[settings.SESSION_COOKIE_NAME] = globex.cookies[settings.SESSION_COOKIE_NAME].value
    response = acme.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")
    # Nor can it name globex's session on acme.
    with tenant_context(other_tenant):
        globex_row = UserSession.objects.get(user=stranger)
    assert acme.post(f"/account/sessions/{globex_row.public_id}/revoke/").status_code == 302


def test_another_workspaces_session_id_is_a_404_for_a_signed_in_user(
    tenant, other_tenant, stranger, web, member
):
    web(stranger, other_tenant)
    with tenant_context(other_tenant):
        globex_row = UserSession.objects.get(user=stranger)
    assert web(member).post(f"/account/sessions/{globex_row.public_id}/revoke/").status_code == 404
    with tenant_context(other_tenant):
        assert UserSession.objects.filter(pk=globex_row.pk).exists()


def test_each_sign_in_is_listed_with_its_browser_and_the_current_one_marked(tenant, member):
    laptop = sign_in(host_client(tenant.primary_host), member.email, agent="Laptop Firefox")
    sign_in(host_client(tenant.primary_host), member.email, agent="Phone Safari")
    page = laptop.get("/account/").content.decode()
    assert "Laptop Firefox" in page and "Phone Safari" in page and len(session_ids(page)) == 2
    laptop_row = page[page.index("Laptop Firefox") : page.index("Laptop Firefox") + 120]
    assert "This browser" in laptop_row
    assert "Sign out everywhere else" in page


def test_revoking_a_session_signs_that_browser_out(tenant, member):
    laptop = sign_in(host_client(tenant.primary_host), member.email, agent="Laptop")
    phone = sign_in(host_client(tenant.primary_host), member.email, agent="Phone")
    assert phone.get("/projects/").status_code == 200
    with tenant_context(tenant):
        phone_row = UserSession.objects.get(user=member, user_agent="Phone")

    response = laptop.post(f"/account/sessions/{phone_row.public_id}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/"
    ended = phone.get("/projects/")
    assert ended.status_code == 302 and ended["Location"].startswith("/accounts/sign-in/")
    assert laptop.get("/projects/").status_code == 200
    with tenant_context(tenant):
        assert list(UserSession.objects.filter(user=member).values_list("user_agent", flat=True)) == [
            "Laptop"
        ]


def test_sign_out_everywhere_else_keeps_only_this_browser(tenant, member):
    browsers = [sign_in(host_client(tenant.primary_host), member.email, agent=f"B{n}") for n in range(3)]
    response = browsers[0].post("/account/sessions/revoke-others/")
    assert response.status_code == 302
    assert b"Signed out everywhere else (2 sessions)." in browsers[0].get("/account/").content
    assert [b.get("/projects/").status_code for b in browsers] == [200, 302, 302]


def test_revoking_this_browsers_own_session_signs_out(tenant, member):
    browser = sign_in(host_client(tenant.primary_host), member.email)
    response = browser.post(f"/account/sessions/{row_of(tenant, member).public_id}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
    assert browser.get("/projects/").status_code == 302
    with tenant_context(tenant):
        assert not UserSession.objects.filter(user=member).exists()


def test_signing_out_removes_the_row(tenant, member):
    browser = sign_in(host_client(tenant.primary_host), member.email)
    assert row_of(tenant, member)
    browser.post("/accounts/sign-out/")
    with tenant_context(tenant):
        assert not UserSession.objects.filter(user=member).exists()


def test_a_password_change_keeps_this_session_listed_and_ends_the_others(tenant, member):
    here = sign_in(host_client(tenant.primary_host), member.email, agent="Here")
    there = sign_in(host_client(tenant.primary_host), member.email, agent="There")
    new = "changed-to-something-long-9"
    response = here.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert here.get("/projects/").status_code == 200 and there.get("/projects/").status_code == 302
    # The row followed this session to its new key.
    page = here.get("/account/").content.decode()
    assert "Here" in page and "There" not in page and len(session_ids(page)) == 1


def test_revoking_a_token_ends_its_api_access_and_only_its_own(tenant, web, member):
    from tests.clients import issue_token

    first, second = issue_token(tenant, member), issue_token(tenant, member)
    browser = web(member)
    assert sorted(token_prefixes(browser.get("/account/"))) == sorted([first[:8], second[:8]])

    response = browser.post(f"/account/tokens/{first[:8]}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert not api_works(tenant, first) and api_works(tenant, second)
    assert token_prefixes(browser.get("/account/")) == [second[:8]]
    assert browser.post(f"/account/tokens/{first[:8]}/revoke/").status_code == 404


def test_revoke_all_tokens_ends_every_one_of_the_users_tokens_only(tenant, web, member, admin):
    from tests.clients import issue_token

    mine = [issue_token(tenant, member) for _ in range(2)]
    admins = issue_token(tenant, admin)
    assert web(member).post("/account/tokens/revoke-all/").status_code == 302
    assert not any(api_works(tenant, token) for token in mine) and api_works(tenant, admins)


def test_another_workspaces_token_prefix_is_a_404(tenant, other_tenant, stranger, web, member):
    from tests.clients import issue_token

    theirs = issue_token(other_tenant, stranger)
    assert web(member).post(f"/account/tokens/{theirs[:8]}/revoke/").status_code == 404
    assert api_works(other_tenant, theirs)


@pytest.mark.parametrize("path", ["/account/tokens/abc/revoke/", "/account/tokens/abcdefghijk/revoke/"])
def test_a_malformed_token_prefix_is_a_404(web, member, path):
    assert web(member).post(path).status_code == 404


def test_the_revoke_routes_take_only_post(web, member, tenant):
    browser = web(member)
    for path in [
        f"/account/sessions/{row_of(tenant, member).public_id}/revoke/",
        "/account/sessions/revoke-others/",
        "/account/tokens/abcdefgh/revoke/",
        "/account/tokens/revoke-all/",
    ]:
        assert browser.get(path).status_code == 405, path
    assert browser.get("/projects/").status_code == 200


def test_a_user_changes_their_name(tenant, web, member):
    browser = web(member)
    response = browser.post("/account/", {"full_name": "  Morgan Member  "})
    assert response.status_code == 302 and response["Location"] == "/account/"
    page = browser.get("/account/")
    assert b"Your name is saved." in page.content and b"<strong>Morgan Member</strong>" in page.content
    with tenant_context(tenant):
        assert get_user_model().objects.get(pk=member.pk).full_name == "Morgan Member"


@pytest.mark.parametrize(
    "name, error",
    [
        ("x" * 151, b"at most 150 characters"),
        ("Mo\x00Member", b"Null characters are not allowed"),
        ("Mo\x07Member", b"cannot contain control characters"),
        ("   ", b"This field is required"),
    ],
)
def test_bad_names_are_a_400_with_the_reason(tenant, web, member, name, error):
    response = web(member).post("/account/", {"full_name": name})
    assert response.status_code == 400 and error in response.content
    with tenant_context(tenant):
        assert get_user_model().objects.get(pk=member.pk).full_name == "Mo Member"


def test_the_service_refuses_what_the_form_would(tenant, member):
    from django.core.exceptions import ValidationError

    from tenant_apps.accounts.services import update_profile

    with tenant_context(tenant):
        for name in ["", "x" * 151, "a\x00b", "tab\there"]:
            with pytest.raises(ValidationError) as refused:
                update_profile(member, full_name=name)
            assert list(refused.value.message_dict) == ["full_name"]
        update_profile(member, full_name="Mo Renamed")
        assert get_user_model().objects.get(pk=member.pk).full_name == "Mo Renamed"


def test_the_profile_lists_cost_the_same_queries_for_more_rows(
    tenant, web, member, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.clients import issue_token

    browser = web(member)
    browser.get("/account/")
    with CaptureQueriesContext(connection) as few:
        browser.get("/account/")
    count = len(few)  # now: the next request empties the connection's query log
    for n in range(5):
        issue_token(tenant, member)
        sign_in(host_client(tenant.primary_host), member.email, agent=f"B{n}")
    assert count > 0
    with django_assert_max_num_queries(count):
        page = browser.get("/account/")
    assert len(session_ids(page)) == 6 and len(token_prefixes(page)) == 5


def test_expired_tokens_and_ended_sessions_are_not_listed(tenant, web, member):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from tests.clients import issue_token

    old = issue_token(tenant, member)
    gone = sign_in(host_client(tenant.primary_host), member.email, agent="Gone")
    with tenant_context(tenant):
        AuthToken.objects.filter(token_key=old[:15]).update(expiry=timezone.now() - timedelta(minutes=1))
        key = gone.cookies[settings.SESSION_COOKIE_NAME].value
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(minutes=1))
    page = web(member).get("/account/")
    assert token_prefixes(page) == [] and b"Gone" not in page.content and len(session_ids(page)) == 1


def test_last_seen_comes_from_the_cache_stamped_at_most_every_few_minutes(tenant, web, member):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from tenant_apps.accounts import user_sessions

    browser = web(member)
    long_ago = timezone.now() - timedelta(hours=3)
    with tenant_context(tenant):
        UserSession.objects.filter(user=member).update(last_seen_at=long_ago)
        key = user_sessions._seen_cache_key(row_of(tenant, member).session_key)
    browser.get("/projects/")
    with tenant_context(tenant):
        first = cache.get(key)
        [listed] = user_sessions.listed_sessions(member)
    assert first is not None and listed.last_seen_at > long_ago
    # The row was not written: a request that only reads writes no row.
    assert row_of(tenant, member).last_seen_at == long_ago
    browser.get("/projects/")
    with tenant_context(tenant):
        assert cache.get(key) == first  # within SEEN_EVERY_SECONDS: not stamped again
        cache.set(key, first - user_sessions.SEEN_EVERY_SECONDS, timeout=60)
    browser.get("/projects/")
    with tenant_context(tenant):
        assert cache.get(key) > first - user_sessions.SEEN_EVERY_SECONDS


def test_clearing_expired_sessions_clears_their_rows(tenant, member):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from tenant_apps.accounts.session_store import SessionStore

    kept = sign_in(host_client(tenant.primary_host), member.email, agent="Kept")
    gone = sign_in(host_client(tenant.primary_host), member.email, agent="Gone")
    with tenant_context(tenant):
        key = gone.cookies[settings.SESSION_COOKIE_NAME].value
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
        SessionStore.clear_expired()
        assert list(UserSession.objects.values_list("user_agent", flat=True)) == ["Kept"]
    assert kept.get("/projects/").status_code == 200


def test_sessions_are_in_no_admin():
    from django.contrib import admin

    from tenants.admin_site import tenant_admin_site

    assert UserSession not in admin.site._registry and UserSession not in tenant_admin_site._registry


def test_the_profile_shows_two_factor_and_where_to_manage_it(web, member):
    page = web(member).get("/account/").content.decode()
    assert "Two-factor sign-in" in page and 'href="/account/two-factor/"' in page
