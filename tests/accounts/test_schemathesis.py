"""Property-based checks of the tenant API against its own OpenAPI schema (schemathesis).

The schema is loaded from /api/schema/ of acme, in-process through the WSGI application, and every
operation is called with generated input (valid and invalid) under acme's Host header with a
valid owner token. No input may produce a server error.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from config.wsgi import application
from tests.clients import issue_token


@pytest.fixture
def tenant_api_schema(db, tenant, owner, settings):
    # Like Django's test client: a request must not close the connection holding the test's
    # transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    settings.API_THROTTLE_RATES = {"user": "100000/min", "anon": "100000/min"}
    settings.AXES_FAILURE_LIMIT = 100000
    try:
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/", application, headers={"Host": tenant.primary_host}
        )
        schema.test_host = tenant.primary_host
        schema.test_token = issue_token(tenant, owner)
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# Every operation of the tenant API. schemathesis' own pytest integration (from_fixture) relies on
# a pytest internal that pytest 9 removed, so the operations are listed here and the test below
# checks that this list is exactly what the schema documents.
OPERATIONS = [
    ("POST", "/api/v1/auth/token/"),
    ("DELETE", "/api/v1/auth/token/"),
    ("POST", "/api/v1/auth/token/revoke-all/"),
    ("GET", "/api/v1/me/"),
    ("GET", "/api/v1/users/"),
    ("POST", "/api/v1/users/"),
    ("GET", "/api/v1/users/{public_id}/"),
    ("PATCH", "/api/v1/users/{public_id}/"),
    ("DELETE", "/api/v1/users/{public_id}/"),
    ("GET", "/api/v1/invitations/"),
    ("POST", "/api/v1/invitations/"),
    ("GET", "/api/v1/invitations/{public_id}/"),
    ("DELETE", "/api/v1/invitations/{public_id}/"),
    ("POST", "/api/v1/invitations/{public_id}/resend/"),
    ("GET", "/api/v1/projects/"),
    ("POST", "/api/v1/projects/"),
    ("GET", "/api/v1/projects/{public_id}/"),
    ("PUT", "/api/v1/projects/{public_id}/"),
    ("PATCH", "/api/v1/projects/{public_id}/"),
    ("DELETE", "/api/v1/projects/{public_id}/"),
    ("POST", "/api/v1/projects/{public_id}/archive/"),
    ("GET", "/api/v1/tasks/"),
    ("POST", "/api/v1/tasks/"),
    ("GET", "/api/v1/tasks/{public_id}/"),
    ("PUT", "/api/v1/tasks/{public_id}/"),
    ("PATCH", "/api/v1/tasks/{public_id}/"),
    ("DELETE", "/api/v1/tasks/{public_id}/"),
    ("GET", "/api/v1/tasks/{task_public_id}/comments/"),
    ("POST", "/api/v1/tasks/{task_public_id}/comments/"),
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_tenant_api_answers_no_generated_request_with_a_server_error(
    tenant_api_schema, method, path, mode
):
    operation = tenant_api_schema[path][method]
    host = tenant_api_schema.test_host
    headers = {"Authorization": f"Bearer {tenant_api_schema.test_token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call_and_validate(
            base_url=f"http://{host}", headers=headers, checks=[not_a_server_error]
        )
        statuses.append(response.status_code)

    statuses: list[int] = []
    check()
    # The requests reached acme's API with a working token: not all refused at the door.
    assert statuses and any(status not in (401, 403) for status in statuses), statuses


def test_the_list_of_operations_is_exactly_what_the_schema_documents(tenant_api_schema):
    documented = {
        (method.upper(), path)
        for path, item in tenant_api_schema.raw_schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert documented == set(OPERATIONS)
