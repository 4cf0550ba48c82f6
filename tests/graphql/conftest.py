"""GraphQL's fixtures: ``gql(user, where=acme)`` is a client of ``/graphql/`` holding a Bearer token of
``user`` issued on ``where`` (``user=None``: no credentials); ``rows`` and ``globex_rows`` are a sample
of every kind of row the schema shows, made through the services, in acme and in globex."""

import json

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenant_apps.accounts import invitations
from tenant_apps.accounts.roles import Role
from tenant_apps.projects import services
from tests.clients import issue_token


class GraphQLClient:
    def __init__(self, host: str, token: str | None = None, client: Client | None = None):
        self.client = client or Client(HTTP_HOST=host, raise_request_exception=False)
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def post(self, query: str, variables: dict | None = None, **headers):
        body = json.dumps({"query": query, "variables": variables or {}})
        return self.client.post(
            "/graphql/", body, content_type="application/json", **{**self.headers, **headers}
        )

    def send(self, body, content_type="application/json", **headers):
        """POST a raw body (bytes or str) as it is."""
        return self.client.generic(
            "POST", "/graphql/", body, content_type=content_type, **{**self.headers, **headers}
        )

    def __call__(self, query: str, variables: dict | None = None, **headers) -> dict:
        """The JSON answer of a POST, which must be a 200."""
        response = self.post(query, variables, **headers)
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def gql(tenant):
    def make(user=None, where=None) -> GraphQLClient:
        where = where or tenant
        token = issue_token(where, user) if user is not None else None
        return GraphQLClient(where.primary_host, token)

    return make


def make_rows(tenant, owner, member) -> dict:
    with tenant_context(tenant):
        project = services.create_project(owner, name="Launch", description="the sample project")
        task = services.create_task(owner, project, title="Write the plan", assignee=member)
        comment = services.add_comment(member, task, "On it")
        invitation = invitations.invite(owner, f"invitee@{tenant.slug}.test", Role.MEMBER)
    return {
        "project": str(project.public_id),
        "task": str(task.public_id),
        "comment": str(comment.public_id),
        "invitation": str(invitation.public_id),
        "user": str(member.public_id),
    }


@pytest.fixture
def rows(tenant, owner, member):
    return make_rows(tenant, owner, member)


@pytest.fixture
def globex_rows(other_tenant, stranger, make_role_user):
    colleague = make_role_user("member@globex.test", Role.MEMBER, other_tenant)
    return make_rows(other_tenant, stranger, colleague)
