"""Clients the way a browser or an API consumer reaches the platform: through a Host header.

Plain functions, for tests and fixtures alike; tests/conftest.py wraps them in fixtures.
"""

from django.test import Client
from django_tenants.utils import tenant_context
from knox.models import AuthToken
from rest_framework.test import APIClient


def host_client(host: str) -> Client:
    return Client(HTTP_HOST=host)


def issue_token(tenant, user) -> str:
    """A token of ``user`` in ``tenant``'s schema (``tenant=None``: the public schema)."""
    if tenant is None:
        return AuthToken.objects.create(user=user)[1]
    with tenant_context(tenant):
        return AuthToken.objects.create(user=user)[1]


def api_client_for(host: str, token: str | None = None) -> APIClient:
    """A DRF client on ``host``, with ``Authorization: Bearer <token>`` when given one."""
    client = APIClient(HTTP_HOST=host)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def signed_in_client(tenant, user=None) -> Client:
    """A browser on ``tenant``'s host, signed in as ``user`` (None: signed out)."""
    client = host_client(tenant.primary_host)
    if user is not None:
        with tenant_context(tenant):
            client.force_login(user)
    return client
