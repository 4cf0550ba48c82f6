"""Request bodies are not checked by the request guard: every form and serializer of the accounts
app and the operator API refuses a NUL in its text fields itself (PostgreSQL would refuse it with
an error, a 500), and says so as a field error."""

import pytest
from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.validators import ProhibitNullCharactersValidator
from django.test import RequestFactory
from rest_framework import serializers

from config.api.tokens import TokenRequestSerializer
from shared_apps.operator_api.api.plan_views import PlanChangeSerializer
from shared_apps.operator_api.api.serializers import NewTenantSerializer, SuspendSerializer
from tenant_apps.accounts.admin import InvitationAdmin, UserCreationForm, UserEditForm
from tenant_apps.accounts.api.serializers import InviteSerializer, UserUpdateSerializer
from tenant_apps.accounts.forms import AcceptInvitationForm, SignInForm, TenantPasswordResetForm
from tenant_apps.accounts.models import Invitation
from tenants.admin_site import tenant_admin_site

pytestmark = pytest.mark.django_db

NUL = "a\x00b@example.test"


def invitation_admin_form(owner):
    request = RequestFactory().get("/")
    request.user = owner
    return InvitationAdmin(Invitation, tenant_admin_site).get_form(request)


FORMS = {
    "sign-in": SignInForm,
    "password-reset": TenantPasswordResetForm,
    "accept-invitation": AcceptInvitationForm,
    "password-change": auth_forms.PasswordChangeForm,
    "set-password": auth_forms.SetPasswordForm,
    "admin-user-add": UserCreationForm,
    "admin-user-edit": UserEditForm,
}
SERIALIZERS = {
    "token": TokenRequestSerializer,
    "invite": InviteSerializer,
    "role": UserUpdateSerializer,
    "new-tenant": NewTenantSerializer,
    "suspend": SuspendSerializer,
    "plan-change": PlanChangeSerializer,
}


def text_fields_without_nul_check(fields):
    return [
        name
        for name, field in fields.items()
        if isinstance(field, (forms.CharField, serializers.CharField))
        and not any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
    ]


@pytest.mark.parametrize("form_class", FORMS.values(), ids=FORMS.keys())
def test_every_text_field_of_our_forms_refuses_nul(form_class):
    assert text_fields_without_nul_check(form_class.base_fields) == []


def test_the_admins_invitation_form_refuses_nul(owner):
    form_class = invitation_admin_form(owner)
    assert text_fields_without_nul_check(form_class.base_fields) == []
    form = form_class(data={"email": NUL, "role": "member"})
    assert not form.is_valid() and "email" in form.errors


@pytest.mark.parametrize("serializer_class", SERIALIZERS.values(), ids=SERIALIZERS.keys())
def test_every_text_field_of_our_serializers_refuses_nul(serializer_class):
    fields = serializer_class().fields
    assert text_fields_without_nul_check(fields) == []
    serializer = serializer_class(data={name: NUL for name in fields})
    assert not serializer.is_valid()
    writable = [name for name, field in fields.items() if not field.read_only]
    assert set(serializer.errors) == set(writable)


def test_the_sign_in_page_answers_a_nul_with_a_form_error(tenant_client):
    response = tenant_client.post("/accounts/sign-in/", {"username": NUL, "password": "x\x00y"})
    assert response.status_code == 200 and b"Null characters are not allowed" in response.content


def test_the_accept_page_answers_a_nul_with_a_form_error(tenant, owner, tenant_client):
    from django_tenants.utils import tenant_context

    from tenant_apps.accounts import invitations
    from tests.mailbox import mail

    with tenant_context(tenant):
        invitations.invite(owner, "new@x.test", "member")
    path = "/accounts/" + mail.outbox[0].body.split("/accounts/", 1)[1].split()[0]
    response = tenant_client.post(path, {"full_name": "A\x00", "password1": "x\x00", "password2": "x\x00"})
    assert response.status_code == 200 and b"Null characters are not allowed" in response.content
