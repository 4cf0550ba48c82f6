"""The team page (/team/): who sees it, what each action does, and the rules it keeps.

Every action goes through the accounts services, so the rules are tested where they live
(test_roles.py, test_invitations.py); here: that the page applies them, answers each persona as
the README says, shows refusals beside their field with a 400, and cannot reach globex's rows.
"""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context
from knox.models import AuthToken

from tenant_apps.accounts import invitations, services
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import Role, role_of
from tenants import limits
from tests.mailbox import mail

pytestmark = pytest.mark.django_db

REFUSED = ["member", "nobody", "outsider", "other tenant", "operator"]


@pytest.fixture
def browser(request, tenant, other_tenant, web):
    """``browser(persona)``: a browser on acme's host carrying that persona's session. The other
    tenant's owner and the operator bring a session of their own schema: worth nothing on acme."""

    def make(persona):
        if persona == "other tenant":
            return _foreign_session(tenant, request.getfixturevalue("stranger"), other_tenant.schema_name)
        if persona == "operator":
            return _foreign_session(tenant, request.getfixturevalue("operator"), "public")
        return web(request.getfixturevalue(persona))

    return make


def _foreign_session(tenant, user, schema) -> Client:
    client = Client(HTTP_HOST=tenant.primary_host)
    with schema_context(schema):
        client.force_login(user)
    return client


@pytest.fixture
def pending(tenant, owner):
    with tenant_context(tenant):
        return invitations.invite(owner, "pending@acme.test", Role.MEMBER)


@pytest.fixture
def gone(tenant, owner, make_role_user):
    """A deactivated member of acme."""
    user = make_role_user("gone@acme.test", Role.MEMBER, full_name="Gus Gone")
    with tenant_context(tenant):
        services.deactivate_user(owner, user)
    return user


def fresh(tenant, row):
    with tenant_context(tenant):
        row.refresh_from_db()
        return row


def role(tenant, user) -> str | None:
    with tenant_context(tenant):
        return role_of(get_user_model().objects.get(pk=user.pk))


# --- The page --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_owners_and_admins_see_every_member_and_invitation(persona, browser, member, gone, pending, owner):
    response = browser(persona).get("/team/")
    assert response.status_code == 200
    text = response.content.decode()
    for expected in (
        "Mo Member",
        "member@acme.test",
        "Gus Gone",
        "Deactivated",
        "Active",
        "Never",  # gone has never signed in
        "pending@acme.test",
        "Pending",
        owner.email,  # invited by
    ):
        assert expected in text, expected
    assert 'aria-current="page">Team</a>' in text


def test_the_page_shows_each_invitation_status_and_last_sign_in(browser, tenant, owner, member, web):
    web(member).get("/projects/")
    with tenant_context(tenant):
        for email in ("accepted@x.test", "expired@x.test", "revoked@x.test"):
            invitations.invite(owner, email, Role.MEMBER)
        Invitation.objects.filter(email="expired@x.test").update(expires_at="2020-01-01T00:00Z")
        Invitation.objects.filter(email="revoked@x.test").update(revoked_at="2020-01-01T00:00Z")
        Invitation.objects.filter(email="accepted@x.test").update(accepted_at="2020-01-01T00:00Z")
        get_user_model().objects.filter(pk=member.pk).update(last_login="2026-03-04T05:06Z")
    text = browser("owner").get("/team/").content.decode()
    for status in ("Accepted", "Expired", "Revoked"):
        assert f">{status}</span>" in text
    assert "4 Mar 2026" in text
    # An accepted or revoked invitation offers no action; an expired one may be sent again.
    assert text.count("Revoke</button>") == text.count("Resend</button>") == 1


@pytest.mark.parametrize("persona", ["member", "nobody"])
def test_a_member_or_an_account_without_a_role_gets_a_403_page_in_the_apps_look(persona, browser):
    response = browser(persona).get("/team/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "Only owners and admins manage the team" in text
    assert 'aria-label="Main"' in text and "Sign out" in text  # the app shell
    assert ">Team</a>" not in text


@pytest.mark.parametrize("persona", ["outsider", "other tenant", "operator"])
def test_anyone_not_signed_in_to_acme_is_sent_to_sign_in(persona, browser):
    response = browser(persona).get("/team/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/?next=/team/"


@pytest.mark.parametrize(("persona", "shown"), [("owner", True), ("admin", True), ("member", False)])
def test_the_team_link_is_in_the_nav_of_those_who_manage_users(persona, shown, browser):
    text = browser(persona).get("/projects/").content.decode()
    assert ('href="/team/">Team</a>' in text) is shown


def test_the_page_costs_the_same_queries_with_3_or_20_members(browser, tenant, owner, make_role_user):
    make_role_user("a@acme.test", Role.ADMIN)
    make_role_user("m@acme.test", Role.MEMBER)
    with tenant_context(tenant):
        invitations.invite(owner, "i0@acme.test", Role.MEMBER)
    client = browser("owner")
    client.get("/team/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/team/").status_code == 200
    for n in range(17):
        make_role_user(f"more{n}@acme.test", [Role.ADMIN, Role.MEMBER][n % 2])
    with tenant_context(tenant):
        for n in range(1, 10):
            invitations.invite(owner, f"i{n}@acme.test", Role.ADMIN)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/team/")
    assert response.content.decode().count('id="user-') == 20
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- Who may act -------------------------------------------------------------------------------------


def _actions(member, pending):
    """Each action's (path, form data), on acme's member and pending invitation."""
    return {
        "invite": ("/team/invite/", {"email": "new@acme.test", "role": "member"}),
        "role": (f"/team/users/{member.public_id}/role/", {"role": "admin"}),
        "deactivate": (f"/team/users/{member.public_id}/deactivate/", {}),
        "reactivate": (f"/team/users/{member.public_id}/reactivate/", {}),
        "resend": (f"/team/invitations/{pending.public_id}/resend/", {}),
        "revoke": (f"/team/invitations/{pending.public_id}/revoke/", {}),
    }


def _state(tenant, member, pending):
    with tenant_context(tenant):
        user = get_user_model().objects.get(pk=member.pk)
        invitation = Invitation.objects.get(pk=pending.pk)
        return (
            role_of(user),
            user.is_active,
            invitation.token_hash,
            invitation.revoked_at,
            Invitation.objects.filter(email="new@acme.test").exists(),
        )


ACTIONS = ["invite", "role", "deactivate", "reactivate", "resend", "revoke"]


@pytest.mark.parametrize("persona", REFUSED)
@pytest.mark.parametrize("action", ACTIONS)
def test_no_one_but_owners_and_admins_acts_and_nothing_changes(
    persona, action, browser, tenant, member, pending
):
    path, data = _actions(member, pending)[action]
    before = _state(tenant, member, pending)
    response = browser(persona).post(path, data)
    if persona in ("member", "nobody"):
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")
    assert _state(tenant, member, pending) == before


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_owners_and_admins_do_each_action_and_come_back_with_a_message(
    persona, browser, tenant, member, pending
):
    client = browser(persona)
    actions = _actions(member, pending)
    for action in ("invite", "role", "deactivate", "reactivate", "resend", "revoke"):
        path, data = actions[action]
        response = client.post(path, data)
        assert response.status_code == 302 and response["Location"] == "/team/", action
        page = client.get("/team/")
        assert page.status_code == 200
        assert 'class="messages"' in page.content.decode(), action
        if action == "invite":
            assert _state(tenant, member, pending)[4]
            assert mail.outbox[-1].to == ["new@acme.test"]
        elif action == "role":
            assert role(tenant, member) == Role.ADMIN
        elif action == "deactivate":
            assert not fresh(tenant, member).is_active
        elif action == "reactivate":
            assert fresh(tenant, member).is_active
        elif action == "resend":
            assert fresh(tenant, pending).send_count == 2
        else:
            assert fresh(tenant, pending).status == Invitation.Status.REVOKED


def test_every_action_needs_the_csrf_token(tenant, member, pending):
    client = Client(HTTP_HOST=tenant.primary_host, enforce_csrf_checks=True)
    with tenant_context(tenant):
        client.force_login(services.users_for(member).get(email="owner@acme.test"))
    before = _state(tenant, member, pending)
    for path, data in _actions(member, pending).values():
        assert client.post(path, data).status_code == 403
    assert _state(tenant, member, pending) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_is_a_post(action, browser, member, pending):
    path, _ = _actions(member, pending)[action]
    assert browser("owner").get(path).status_code == 405


# --- The rules the page keeps -----------------------------------------------------------------------


def test_an_admin_is_not_offered_the_owner_role_and_cannot_grant_it(browser, tenant, member):
    client = browser("admin")
    text = client.get("/team/").content.decode()
    assert '<option value="owner"' not in text and '<option value="admin"' in text
    response = client.post(f"/team/users/{member.public_id}/role/", {"role": "owner"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = client.post("/team/invite/", {"email": "boss@acme.test", "role": "owner"})
    assert response.status_code == 400
    assert role(tenant, member) == Role.MEMBER
    with tenant_context(tenant):
        assert not Invitation.objects.filter(email="boss@acme.test").exists()


def test_an_owner_is_offered_the_owner_role(browser):
    assert '<option value="owner"' in browser("owner").get("/team/").content.decode()


def test_an_admin_cannot_touch_an_owner(browser, tenant, owner):
    client = browser("admin")
    text = client.get("/team/").content.decode()
    assert f'action="/team/users/{owner.public_id}/' not in text
    assert "Only an owner changes an owner." in text
    for path, data in (
        (f"/team/users/{owner.public_id}/role/", {"role": "member"}),
        (f"/team/users/{owner.public_id}/deactivate/", {}),
    ):
        response = client.post(path, data)
        assert response.status_code == 403
        assert "Only an owner can grant or remove the owner role." in response.content.decode()
    assert role(tenant, owner) == Role.OWNER and fresh(tenant, owner).is_active


def test_an_admin_cannot_reactivate_a_deactivated_owner(browser, tenant, owner, make_role_user):
    second = make_role_user("second@acme.test", Role.OWNER)
    with tenant_context(tenant):
        services.deactivate_user(owner, second)
    response = browser("admin").post(f"/team/users/{second.public_id}/reactivate/")
    assert response.status_code == 403
    assert not fresh(tenant, second).is_active


def test_an_admin_cannot_resend_or_revoke_an_owners_invitation(browser, tenant, owner):
    with tenant_context(tenant):
        invitation = invitations.invite(owner, "co-owner@acme.test", Role.OWNER)
    client = browser("admin")
    for action in ("resend", "revoke"):
        assert client.post(f"/team/invitations/{invitation.public_id}/{action}/").status_code == 403
    assert fresh(tenant, invitation).status == Invitation.Status.PENDING
    assert fresh(tenant, invitation).send_count == 1


def test_the_last_owner_stays_and_is_told_why_beside_their_row(browser, tenant, owner):
    client = browser("owner")
    for path, data in (
        (f"/team/users/{owner.public_id}/role/", {"role": "member"}),
        (f"/team/users/{owner.public_id}/deactivate/", {}),
    ):
        response = client.post(path, data)
        assert response.status_code == 400
        text = response.content.decode()
        row = text[text.index(f'id="user-{owner.public_id}"') :]
        assert services.LAST_OWNER_MESSAGE in row[: row.index("</tr>")]
    assert role(tenant, owner) == Role.OWNER and fresh(tenant, owner).is_active


def test_a_second_owner_lets_the_first_step_down(browser, tenant, owner, make_role_user):
    make_role_user("second@acme.test", Role.OWNER)
    response = browser("owner").post(f"/team/users/{owner.public_id}/role/", {"role": "admin"})
    assert response.status_code == 302
    assert role(tenant, owner) == Role.ADMIN


def test_the_plan_limit_is_shown_when_inviting_and_reactivating(browser, tenant, owner, member, gone):
    with tenant_context(tenant):
        seats = services.seats_by_schema([tenant.schema_name])[tenant.schema_name]
    limits.change_plan(tenant, max_users=seats)
    client = browser("owner")
    response = client.post("/team/invite/", {"email": "one-more@acme.test", "role": "member"})
    assert response.status_code == 400
    assert "allows" in response.content.decode() and "one-more@acme.test" in response.content.decode()
    response = client.post(f"/team/users/{gone.public_id}/reactivate/")
    assert response.status_code == 400
    text = response.content.decode()
    row = text[text.index(f'id="user-{gone.public_id}"') :]
    assert "allows" in row[: row.index("</tr>")]
    assert not fresh(tenant, gone).is_active
    with tenant_context(tenant):
        assert not Invitation.objects.filter(email="one-more@acme.test").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"email": "not-an-address", "role": "member"},
        {"email": "nul\x00@acme.test", "role": "member"},
        {"email": "x" * 250 + "@acme.test", "role": "member"},
        {"email": "ok@acme.test", "role": "emperor"},
        {"email": "ok@acme.test", "role": "mem\x00ber"},
        {"email": "member@acme.test", "role": "member"},  # already a user here
        {},
    ],
)
def test_refused_invitations_answer_400_with_the_error_beside_the_field(data, browser, tenant, member):
    response = browser("owner").post("/team/invite/", data)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    with tenant_context(tenant):
        assert not Invitation.objects.exists()


@pytest.mark.parametrize("role_value", ["", "emperor", "a\x00b", "x" * 10_000])
def test_a_refused_role_answers_400(role_value, browser, tenant, member):
    response = browser("owner").post(f"/team/users/{member.public_id}/role/", {"role": role_value})
    assert response.status_code == 400
    assert role(tenant, member) == Role.MEMBER


# --- Other tenants' rows -------------------------------------------------------------------------------


def test_globex_users_and_invitations_cannot_be_acted_on_from_acme(
    browser, other_tenant, stranger, make_role_user
):
    globex_member = make_role_user("member@globex.test", Role.MEMBER, other_tenant)
    with tenant_context(other_tenant):
        globex_invitation = invitations.invite(stranger, "invitee@globex.test", Role.MEMBER)
    client = browser("owner")
    paths = [
        (f"/team/users/{globex_member.public_id}/role/", {"role": "admin"}),
        (f"/team/users/{globex_member.public_id}/deactivate/", {}),
        (f"/team/users/{globex_member.public_id}/reactivate/", {}),
        (f"/team/invitations/{globex_invitation.public_id}/resend/", {}),
        (f"/team/invitations/{globex_invitation.public_id}/revoke/", {}),
    ]
    unknown = uuid.uuid4()
    paths += [
        (f"/team/users/{unknown}/role/", {"role": "admin"}),
        (f"/team/users/{unknown}/deactivate/", {}),
        (f"/team/invitations/{unknown}/revoke/", {}),
        ("/team/users/not-a-uuid/deactivate/", {}),
    ]
    for path, data in paths:
        assert client.post(path, data).status_code == 404, path
    assert "globex" not in client.get("/team/").content.decode()
    with tenant_context(other_tenant):
        assert role_of(get_user_model().objects.get(pk=globex_member.pk)) == Role.MEMBER
        invitation = Invitation.objects.get(pk=globex_invitation.pk)
        assert invitation.status == Invitation.Status.PENDING and invitation.send_count == 1


# --- Reactivate: every door ----------------------------------------------------------------------------


def test_reactivate_through_the_page_lets_the_user_sign_in_again(browser, tenant, gone, tenant_client):
    assert browser("admin").post(f"/team/users/{gone.public_id}/reactivate/").status_code == 302
    assert fresh(tenant, gone).is_active and role(tenant, gone) == Role.MEMBER
    from tests.conftest import PASSWORD

    response = tenant_client.post("/accounts/sign-in/", {"username": gone.email, "password": PASSWORD})
    assert response.status_code == 302


def test_reactivate_through_the_api(api_client, tenant, owner, admin, member, gone, make_role_user):
    path = f"/api/v1/users/{gone.public_id}/reactivate/"
    assert api_client(member).post(path).status_code == 403
    assert not fresh(tenant, gone).is_active
    response = api_client(admin).post(path)
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert fresh(tenant, gone).is_active
    # Only owners bring an owner back.
    second = make_role_user("second@acme.test", Role.OWNER)
    with tenant_context(tenant):
        services.deactivate_user(owner, second)
    assert api_client(admin).post(f"/api/v1/users/{second.public_id}/reactivate/").status_code == 403
    assert api_client(owner).post(f"/api/v1/users/{second.public_id}/reactivate/").status_code == 200
    assert fresh(tenant, second).is_active


def test_reactivate_through_the_api_keeps_the_plan_and_the_tenant(
    api_client, tenant, other_tenant, owner, stranger, gone
):
    path = f"/api/v1/users/{gone.public_id}/reactivate/"
    with tenant_context(tenant):
        seats = services.seats_by_schema([tenant.schema_name])[tenant.schema_name]
    limits.change_plan(tenant, max_users=seats)
    assert api_client(stranger, other_tenant).post(path).status_code == 404  # acme's id on globex
    response = api_client(owner).post(path)
    assert response.status_code == 403 and "allows" in response.json()["detail"]
    assert not fresh(tenant, gone).is_active


def test_reactivate_through_the_tenant_admin(web, tenant, owner, gone):
    client = web(owner)
    response = client.post("/admin/accounts/user/", {"action": "reactivate", "_selected_action": [gone.pk]})
    assert response.status_code == 302
    assert fresh(tenant, gone).is_active


def test_the_tenant_admin_reports_a_plan_limit_when_reactivating(web, tenant, owner, gone):
    with tenant_context(tenant):
        seats = services.seats_by_schema([tenant.schema_name])[tenant.schema_name]
    limits.change_plan(tenant, max_users=seats)
    response = web(owner).post(
        "/admin/accounts/user/", {"action": "reactivate", "_selected_action": [gone.pk]}, follow=True
    )
    assert "allows" in response.content.decode()
    assert not fresh(tenant, gone).is_active


def test_a_reactivated_user_gets_no_old_token_back(tenant, owner, member):
    with tenant_context(tenant):
        AuthToken.objects.create(user=member)
        services.deactivate_user(owner, member)
        services.reactivate_user(owner, member)
        assert not AuthToken.objects.filter(user=member).exists()
