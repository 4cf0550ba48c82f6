"""Fixtures of the projects tests: a project with a task on acme. Personas and clients (owner,
admin, member, nobody, outsider, stranger; web, api_client) are the suite's (tests/conftest.py)."""

import pytest

from tests.factories import ProjectFactory, TaskFactory


@pytest.fixture
def project(tenant, owner):
    return ProjectFactory(tenant=tenant, name="Launch", description="Ship it", created_by=owner)


@pytest.fixture
def task(tenant, project, owner, member):
    return TaskFactory(
        tenant=tenant, project=project, title="Write the press release", created_by=owner, assignee=member
    )
