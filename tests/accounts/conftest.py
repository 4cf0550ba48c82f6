"""Personas of the accounts tests, on acme: its owner (provisioned), an admin, a member; an
outsider (a browser with no account); and a user of globex, the other tenant.

``api_client(tenant, user)`` is a DRF client on the tenant's host carrying a fresh Bearer token of
``user`` (or no credentials for ``user=None``).
"""

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context
from knox.models import AuthToken
from rest_framework.test import APIClient

from tenant_apps.accounts.roles import Role
from tenant_apps.accounts.services import create_user_with_role
from tests.conftest import PASSWORD


def issue_token(tenant, user) -> str:
    """A token of ``user`` in ``tenant``'s schema (``tenant=None``: the public schema)."""
    if tenant is None:
        return AuthToken.objects.create(user=user)[1]
    with tenant_context(tenant):
        return AuthToken.objects.create(user=user)[1]


def api_client_for(host: str, token: str | None = None) -> APIClient:
    client = APIClient(HTTP_HOST=host)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def make_role_user(tenant):
    def make(email, role, where=None, *, password=PASSWORD, full_name=""):
        with tenant_context(where or tenant):
            return create_user_with_role(email, role, password=password, full_name=full_name)

    return make


@pytest.fixture
def owner(tenant):
    """acme's owner, made by provisioning: the only owner of acme."""
    with tenant_context(tenant):
        return get_user_model().objects.get(email="owner@acme.test")


@pytest.fixture
def admin(make_role_user):
    return make_role_user("admin@acme.test", Role.ADMIN, full_name="Ada Admin")


@pytest.fixture
def member(make_role_user):
    return make_role_user("member@acme.test", Role.MEMBER, full_name="Mo Member")


@pytest.fixture
def stranger(other_tenant, make_role_user):
    """An owner of globex: a real account, of the other tenant."""
    return make_role_user("stranger@globex.test", Role.OWNER, other_tenant)


@pytest.fixture
def api_client(tenant):
    def make(user=None, where=None):
        where = where or tenant
        token = issue_token(where, user) if user is not None else None
        return api_client_for(where.primary_host, token)

    return make


@pytest.fixture
def outsider_api(tenant):
    return api_client_for(tenant.primary_host)
