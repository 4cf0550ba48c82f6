"""Invitations end to end: the email, the link, the accept page, and every way a link dies."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.accounts import invitations, services
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import role_of
from tests.conftest import host_client
from tests.mailbox import mail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "joining-with-a-long-password"


def invite(api_client, actor, email="new.person@example.test", role="member"):
    response = api_client(actor).post("/api/v1/invitations/", {"email": email, "role": role}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def link_in(message) -> str:
    return urlsplit(re.search(r"(http://\S+/accounts/invitations/\S+/)", message.body).group(1)).path


def accept(client, path, name="New Person", password=NEW_PASSWORD):
    return client.post(path, {"full_name": name, "password1": password, "password2": password})


def test_an_invitee_follows_the_emailed_link_sets_name_and_password_and_lands_signed_in(
    tenant, api_client, admin, tenant_client
):
    invite(api_client, admin, role="admin")
    message = mail.outbox[0]
    assert message.to == ["new.person@example.test"]
    assert message.subject == "Ada Admin invited you to join Acme"
    assert "as admin" in message.body and "Acme" in message.alternatives[0][0]
    path = link_in(message)
    assert path in message.alternatives[0][0]

    page = tenant_client.get(path)
    assert (
        page.status_code == 200
        and b"Join Acme" in page.content
        and b"new.person@example.test" in page.content
    )

    response = accept(tenant_client, path)
    assert response.status_code == 302 and response["Location"] == "/projects/"  # into the app
    home = tenant_client.get("/accounts/")
    assert home.status_code == 200 and b"new.person@example.test (admin)" in home.content

    with tenant_context(tenant):
        user = get_user_model().objects.get(email="new.person@example.test")
        assert user.full_name == "New Person" and role_of(user) == "admin" and user.is_staff
        invitation = Invitation.objects.get(email=user.email)
        assert invitation.status == "accepted" and invitation.user == user

    # The new account signs in with its password.
    fresh = host_client(tenant.primary_host)
    assert (
        fresh.post("/accounts/sign-in/", {"username": user.email, "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_an_accepted_link_says_so_plainly(api_client, owner, tenant_client, tenant):
    invite(api_client, owner)
    path = link_in(mail.outbox[0])
    accept(tenant_client, path)
    again = host_client(tenant.primary_host).get(path)
    assert again.status_code == 410 and b"already been accepted" in again.content


def test_an_expired_link_says_so_plainly_and_creates_nothing(api_client, owner, tenant, tenant_client):
    invite(api_client, owner)
    path = link_in(mail.outbox[0])
    with tenant_context(tenant):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = tenant_client.get(path)
    assert page.status_code == 410 and b"has expired" in page.content
    assert accept(tenant_client, path).status_code == 410
    with tenant_context(tenant):
        assert not get_user_model().objects.filter(email="new.person@example.test").exists()


def test_invitations_expire_after_seven_days(api_client, owner):
    body = invite(api_client, owner)
    expires_at = timezone.datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_a_revoked_link_says_so_plainly(api_client, owner, tenant_client):
    body = invite(api_client, owner)
    path = link_in(mail.outbox[0])
    response = api_client(owner).delete(f"/api/v1/invitations/{body['id']}/")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    page = tenant_client.get(path)
    assert page.status_code == 410 and b"has been revoked" in page.content
    assert accept(tenant_client, path).status_code == 410


def test_an_unknown_link_is_a_404(tenant_client):
    assert tenant_client.get("/accounts/invitations/not-a-real-token/").status_code == 404


def test_an_acme_link_does_not_work_on_globex(api_client, owner, other_tenant_client):
    invite(api_client, owner)
    assert other_tenant_client.get(link_in(mail.outbox[0])).status_code == 404


def test_reinviting_resends_with_a_new_link_and_the_old_one_dies(api_client, owner, tenant, tenant_client):
    first = invite(api_client, owner)
    second = invite(api_client, owner, role="admin")
    assert first["id"] == second["id"] and second["role"] == "admin"
    old, new = link_in(mail.outbox[0]), link_in(mail.outbox[1])
    assert old != new
    assert tenant_client.get(old).status_code == 404
    assert tenant_client.get(new).status_code == 200

    resent = api_client(owner).post(f"/api/v1/invitations/{first['id']}/resend/")
    assert resent.status_code == 200 and len(mail.outbox) == 3
    assert tenant_client.get(new).status_code == 404
    with tenant_context(tenant):
        assert Invitation.objects.get().send_count == 3


def test_the_invitation_token_is_stored_hashed(api_client, owner, tenant):
    invite(api_client, owner)
    token = link_in(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    with tenant_context(tenant):
        row = Invitation.objects.get()
        assert row.token_hash == invitations.hash_token(token) and token not in row.token_hash


def test_the_accept_page_applies_the_password_validators(api_client, owner, tenant_client, tenant):
    invite(api_client, owner)
    path = link_in(mail.outbox[0])
    weak = accept(tenant_client, path, password="password")
    assert weak.status_code == 200 and b"too common" in weak.content
    similar = accept(tenant_client, path, password="new.person@example.test")
    assert b"too similar" in similar.content
    mismatch = tenant_client.post(path, {"full_name": "X", "password1": NEW_PASSWORD, "password2": "other"})
    assert b"do not match" in mismatch.content
    with tenant_context(tenant):
        assert not get_user_model().objects.filter(email="new.person@example.test").exists()


def test_inviting_an_existing_user_is_a_field_error(api_client, owner, member):
    response = api_client(owner).post("/api/v1/invitations/", {"email": "MEMBER@acme.test"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"email": ["This address already belongs to a user of this workspace."]}


def test_an_admin_cannot_invite_an_owner(api_client, admin):
    response = api_client(admin).post(
        "/api/v1/invitations/", {"email": "boss@x.test", "role": "owner"}, format="json"
    )
    assert response.status_code == 403
    assert mail.outbox == []


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_owners_and_admins_list_read_resend_and_revoke_invitations(request, api_client, persona, owner):
    body = invite(api_client, owner)
    client = api_client(request.getfixturevalue(persona))
    listing = client.get("/api/v1/invitations/")
    assert listing.status_code == 200 and listing.json()["results"][0]["id"] == body["id"]
    assert listing.json()["results"][0]["invited_by"] == "owner@acme.test"
    assert "token" not in str(listing.json())
    assert client.get(f"/api/v1/invitations/{body['id']}/").status_code == 200
    assert client.post(f"/api/v1/invitations/{body['id']}/resend/").status_code == 200
    assert client.delete(f"/api/v1/invitations/{body['id']}/").status_code == 200
    again = client.post(f"/api/v1/invitations/{body['id']}/resend/")
    assert again.status_code == 400 and again.json() == {"invitation": ["This invitation has been revoked."]}


def test_members_cannot_see_or_touch_invitations(api_client, owner, member):
    body = invite(api_client, owner)
    client = api_client(member)
    assert client.get("/api/v1/invitations/").status_code == 403
    assert client.get(f"/api/v1/invitations/{body['id']}/").status_code == 403
    assert client.post(f"/api/v1/invitations/{body['id']}/resend/").status_code == 403
    assert client.delete(f"/api/v1/invitations/{body['id']}/").status_code == 403


def test_outsiders_cannot_see_or_touch_invitations(api_client, owner, outsider_api):
    body = invite(api_client, owner)
    assert outsider_api.get("/api/v1/invitations/").status_code == 401
    assert outsider_api.post("/api/v1/invitations/", {"email": "a@b.test"}, format="json").status_code == 401
    assert outsider_api.delete(f"/api/v1/invitations/{body['id']}/").status_code == 401


def test_an_acme_invitation_id_is_a_404_on_globex(api_client, owner, stranger, other_tenant):
    body = invite(api_client, owner)
    client = api_client(stranger, where=other_tenant)
    assert client.get(f"/api/v1/invitations/{body['id']}/").status_code == 404
    assert client.delete(f"/api/v1/invitations/{body['id']}/").status_code == 404
    assert client.post(f"/api/v1/invitations/{body['id']}/resend/").status_code == 404


# --- the tenant admin -----------------------------------------------------------------------------


def admin_sign_in(client, email):
    from tests.conftest import PASSWORD

    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_an_admin_invites_from_the_tenant_admin(admin, tenant, tenant_client):
    admin_sign_in(tenant_client, admin.email)
    response = tenant_client.post(
        "/admin/accounts/invitation/add/", {"email": "From@Admin.test", "role": "member"}
    )
    assert response.status_code == 302
    assert mail.outbox[0].to == ["from@admin.test"]
    with tenant_context(tenant):
        invitation = Invitation.objects.get(email="from@admin.test")
        assert invitation.invited_by == admin and invitation.status == "pending"


def test_the_tenant_admin_refuses_an_owner_invitation_from_an_admin(admin, tenant, tenant_client):
    admin_sign_in(tenant_client, admin.email)
    response = tenant_client.post(
        "/admin/accounts/invitation/add/", {"email": "boss@x.test", "role": "owner"}
    )
    assert response.status_code == 200 and b"Only an owner" in response.content
    assert mail.outbox == []


def test_the_tenant_admin_revokes_and_resends_invitations(owner, tenant, tenant_client):
    with tenant_context(tenant):
        invitation = invitations.invite(owner, "pending@x.test", "member")
    admin_sign_in(tenant_client, owner.email)
    tenant_client.post(
        "/admin/accounts/invitation/", {"action": "resend", "_selected_action": [invitation.pk]}
    )
    assert len(mail.outbox) == 2
    tenant_client.post(
        "/admin/accounts/invitation/", {"action": "revoke", "_selected_action": [invitation.pk]}
    )
    with tenant_context(tenant):
        invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_the_tenant_admin_changes_roles_through_the_rules(owner, member, tenant, tenant_client):
    admin_sign_in(tenant_client, owner.email)
    tenant_client.post("/admin/accounts/user/", {"action": "make_admin", "_selected_action": [member.pk]})
    response = tenant_client.post(
        "/admin/accounts/user/", {"action": "make_member", "_selected_action": [owner.pk]}, follow=True
    )
    assert b"at least one owner" in response.content
    with tenant_context(tenant):
        member.refresh_from_db()
        owner.refresh_from_db()
        assert role_of(member) == "admin" and role_of(owner) == "owner"


def test_a_member_cannot_use_the_tenant_admin(member, tenant_client):
    response = tenant_client.post(
        "/admin/login/?next=/admin/", {"username": member.email, "password": "a-long-test-password"}
    )
    assert response.status_code == 200  # not staff: the admin refuses the sign-in


# --- writes to an existing invitation follow the revoke rule ---------------------------------------


def _owner_invitation(tenant, owner, email="boss@x.test"):
    with tenant_context(tenant):
        invitation = invitations.invite(owner, email, "owner")
        return Invitation.objects.values("pk", "role", "token_hash", "invited_by_id", "send_count").get(
            pk=invitation.pk
        )


def _unchanged(tenant, before):
    with tenant_context(tenant):
        after = Invitation.objects.values("pk", "role", "token_hash", "invited_by_id", "send_count").get(
            pk=before["pk"]
        )
    return after == before


def test_an_admin_cannot_overwrite_an_owner_invitation_by_reinviting_with_a_lower_role(
    tenant, api_client, owner, admin
):
    before = _owner_invitation(tenant, owner)
    response = api_client(admin).post(
        "/api/v1/invitations/", {"email": "Boss@X.test", "role": "member"}, format="json"
    )
    assert response.status_code == 403
    assert _unchanged(tenant, before)
    assert len(mail.outbox) == 1  # only the owner's own invitation email


def test_an_admin_cannot_overwrite_an_owner_invitation_through_the_users_endpoint(
    tenant, api_client, owner, admin
):
    before = _owner_invitation(tenant, owner)
    response = api_client(admin).post(
        "/api/v1/users/", {"email": "boss@x.test", "role": "admin"}, format="json"
    )
    assert response.status_code == 403
    assert _unchanged(tenant, before)


def test_an_admin_cannot_resend_or_revoke_an_owner_invitation(tenant, api_client, owner, admin):
    before = _owner_invitation(tenant, owner)
    with tenant_context(tenant):
        public_id = Invitation.objects.get(pk=before["pk"]).public_id
    client = api_client(admin)
    assert client.post(f"/api/v1/invitations/{public_id}/resend/").status_code == 403
    assert client.delete(f"/api/v1/invitations/{public_id}/").status_code == 403
    assert _unchanged(tenant, before)


def test_the_tenant_admin_refuses_an_admin_overwriting_an_owner_invitation(
    tenant, owner, admin, tenant_client
):
    before = _owner_invitation(tenant, owner)
    admin_sign_in(tenant_client, admin.email)
    response = tenant_client.post(
        "/admin/accounts/invitation/add/", {"email": "boss@x.test", "role": "member"}
    )
    assert response.status_code == 200 and b"Only an owner" in response.content
    for action in ("resend", "revoke"):
        page = tenant_client.post(
            "/admin/accounts/invitation/", {"action": action, "_selected_action": [before["pk"]]}, follow=True
        )
        assert b"Only an owner" in page.content
    assert _unchanged(tenant, before)


def test_the_service_refuses_an_admin_overwriting_an_owner_invitation(tenant, owner, admin):
    before = _owner_invitation(tenant, owner)
    with tenant_context(tenant):
        with pytest.raises(PermissionDenied):
            invitations.invite(admin, "boss@x.test", "member")
        invitation = Invitation.objects.get(pk=before["pk"])
        assert not services.can_change_invitation(admin, invitation)
        assert services.can_change_invitation(owner, invitation)
    assert _unchanged(tenant, before)


def test_an_owner_may_lower_the_role_of_an_owner_invitation_by_reinviting(tenant, api_client, owner):
    before = _owner_invitation(tenant, owner)
    response = api_client(owner).post(
        "/api/v1/invitations/", {"email": "boss@x.test", "role": "member"}, format="json"
    )
    assert response.status_code == 201 and response.json()["role"] == "member"
    with tenant_context(tenant):
        assert Invitation.objects.get(pk=before["pk"]).role == "member"


def test_an_admin_may_reinvite_a_pending_member_invitation(tenant, api_client, owner, admin):
    with tenant_context(tenant):
        invitations.invite(owner, "helper@x.test", "member")
    response = api_client(admin).post(
        "/api/v1/invitations/", {"email": "helper@x.test", "role": "admin"}, format="json"
    )
    assert response.status_code == 201 and response.json()["role"] == "admin"
