"""Fixtures of the projects tests: a project with a task on acme, and clients for each persona.

Personas (tests/accounts/conftest.py): acme's owner, an admin, a member; ``nobody``, a signed-in acme user
who holds no role; the anonymous outsider; and ``stranger``, an owner of globex.
"""

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenant_apps.projects.models import Project, Task
from tests.accounts.conftest import admin, api_client, make_role_user, member, owner, stranger  # noqa: F401
from tests.outbox.conftest import clean_outbox, email_settings, fake_postmark, outbox_worker  # noqa: F401


@pytest.fixture
def nobody(tenant, make_user):
    """An acme account with no role (e.g. left half-created): it must see nothing."""
    return make_user("nobody@acme.test", tenant)


@pytest.fixture
def project(tenant, owner):
    with tenant_context(tenant):
        return Project.objects.create(name="Launch", description="Ship it", created_by=owner)


@pytest.fixture
def task(tenant, project, owner, member):
    with tenant_context(tenant):
        return Task.objects.create(project=project, title="Write the press release", created_by=owner,
                                   assignee=member)


@pytest.fixture
def web(tenant):
    """``web(user)``: a browser on acme signed in as ``user`` (None: signed out)."""

    def make(user=None, where=None):
        where = where or tenant
        client = Client(HTTP_HOST=where.primary_host)
        if user is not None:
            with tenant_context(where):
                client.force_login(user)
        return client

    return make
