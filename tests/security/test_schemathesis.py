"""Property-based checks of both APIs against their own OpenAPI schemas (schemathesis).

The tenant API (/api/schema/ on acme, as acme's owner) and the operator API (/api/schema/ on the
root domain, as an operator) are loaded in-process through the WSGI application. Every operation
is called with generated input, valid and invalid; then a stateful run chains operations through
the links schemathesis infers from the schema (a created project's id feeds its read, change,
archive and delete). No request may get a server error.

The operations are read from the schemas when the tests are collected, so a new endpoint is
covered without adding anything here.
"""

import hypothesis
import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from knox.models import AuthToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from config.wsgi import application

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}
SITES = {"tenant": settings.ROOT_URLCONF, "root": settings.PUBLIC_SCHEMA_URLCONF}
# Bounded so both APIs, valid and invalid input and the stateful runs take about a minute.
EXAMPLES = 12
STATEFUL = hypothesis.settings(
    max_examples=8,
    stateful_step_count=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[hypothesis.Phase.generate],
)


def operations(site: str) -> list[tuple[str, str, str]]:
    """(site, METHOD, path) of every operation the site's schema documents."""
    schema = SchemaGenerator(urlconf=SITES[site]).get_schema(request=None, public=True)
    return [
        (site, method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    ]


OPERATIONS = operations("tenant") + operations("root")


class Api:
    def __init__(self, schema, host: str, token: str):
        self.schema = schema
        self.base_url = f"http://{host}"
        self.headers = {"Authorization": f"Bearer {token}"}


@pytest.fixture
def in_process_wsgi(settings):
    # Like Django's test client: a request must not close the connection that holds the test's
    # transaction. Limits that would answer 429 to a generator's burst are lifted.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    settings.API_THROTTLE_RATES = {"user": "1000000/min", "anon": "1000000/min"}
    settings.AXES_FAILURE_LIMIT = 1000000
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def apis(in_process_wsgi, tenant, owner, operator):
    """The schema of each site, loaded through the site's own /api/schema/, with a token."""

    def load(site: str) -> Api:
        host, schema_name, user = {
            "tenant": (tenant.primary_host, tenant.schema_name, owner),
            "root": (settings.BASE_DOMAIN, "public", operator),
        }[site]
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers={"Host": host})
        with schema_context(schema_name):
            token = AuthToken.objects.create(user=user)[1]
        connection.set_schema_to_public()
        return Api(schema, host, token)

    return load


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("site, method, path", OPERATIONS, ids=[f"{s} {m} {p}" for s, m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(apis, site, method, path, mode):
    api = apis(site)
    statuses: list[int] = []

    @given(case=api.schema[path][method].as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        try:
            response = case.call_and_validate(
                base_url=api.base_url, headers=api.headers, checks=[not_a_server_error]
            )
        except ValueError as exc:
            # requests itself refused to build the URL (urllib: "Invalid IPv6 URL"): the case
            # never reached the server, so it says nothing about a server error. Seen once in a
            # whole-suite run, in no run of this test alone.
            if "Invalid IPv6 URL" not in str(exc):
                raise
            hypothesis.reject()
        statuses.append(response.status_code)

    check()
    # The requests reached the API with a working token: not all refused at the door.
    assert statuses and any(status not in (401, 403) for status in statuses), statuses


@pytest.mark.parametrize("site", SITES)
def test_no_chain_of_linked_requests_gets_a_server_error(apis, site):
    api = apis(site)
    machine = api.schema.as_state_machine()
    assert api.schema.statistic.transitions.total, f"no links between the {site} API's operations"
    statuses: list[int] = []

    class Chain(machine):
        def get_call_kwargs(self, case):
            return {"base_url": api.base_url, "headers": api.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            statuses.append(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

    Chain.run(settings=STATEFUL)
    assert any(200 <= status < 300 for status in statuses), statuses
