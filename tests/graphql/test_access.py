"""Who reaches what through /graphql/: the four personas and the other tenant on every query and
mutation (tests/graphql/operations.py), another tenant's ids and tokens, sessions with CSRF, two-factor,
inactive accounts, and GraphiQL."""

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from config.graphql_urls import schema
from tests.clients import issue_token
from tests.graphql.conftest import GraphQLClient
from tests.graphql.operations import OPERATIONS, PERSONAS
from tests.security import walk

pytestmark = pytest.mark.django_db

ME = "{ me { email } }"


@pytest.fixture
def clients(tenant, other_tenant, owner, admin, member, nobody, stranger):
    host = tenant.primary_host
    tokens = {
        "owner": issue_token(tenant, owner),
        "admin": issue_token(tenant, admin),
        "member": issue_token(tenant, member),
        "nobody": issue_token(tenant, nobody),
        "outsider": None,
        # globex's owner, with a token globex issued, sent to acme's host.
        "other tenant": issue_token(other_tenant, stranger),
    }
    assert tuple(tokens) == PERSONAS
    return {name: GraphQLClient(host, token) for name, token in tokens.items()}


def outcome(response) -> str:
    """ "ok", an error code, or the HTTP status of a refusal before GraphQL ran."""
    if response.status_code != 200:
        return str(response.status_code)
    body = response.json()
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return "ok"


def test_every_query_and_mutation_answers_each_persona_as_the_matrix_says(clients, rows):
    problems = []
    for field, op in OPERATIONS.items():
        for persona, client in clients.items():
            expected = (
                "ok"
                if persona in op.allowed
                else "FORBIDDEN"
                if persona in {"owner", "admin", "member", "nobody"}
                else "401"
            )

            def inspect(response, wrote):
                # A refusal writes nothing (knox reads a token without touching it).
                return wrote

            response, wrote = walk.isolated(
                lambda client=client, op=op: client.post(op.document, op.variables(rows)), inspect
            )
            got = outcome(response)
            if got != expected:
                problems.append(
                    f"{field} as {persona}: {got} ({response.content[:200]!r}), the matrix says {expected}"
                )
            elif got == "ok" and response.json()["data"][field] is None:
                problems.append(f"{field} as {persona}: answered null")
            elif got != "ok" and wrote:
                problems.append(f"{field} as {persona}: refused ({got}) but wrote to the database")
    assert not problems, "\n".join(problems)


def test_another_tenants_ids_are_not_found_even_for_the_owner(clients, rows, globex_rows):
    owner = clients["owner"]
    problems = []
    for field, op in OPERATIONS.items():
        if op.foreign is None:
            continue
        response, wrote = walk.isolated(
            lambda op=op: owner.post(op.document, op.variables(globex_rows)), lambda r, w: w
        )
        got = outcome(response)
        if got != op.foreign or wrote:
            problems.append(f"{field} with globex's id: {got}, wrote={wrote}, expected {op.foreign}")
        if got == "NOT_FOUND":
            assert response.json()["errors"][0]["message"] == "Not found."
    assert not problems, "\n".join(problems)


def test_an_unknown_id_answers_exactly_like_another_tenants_id(gql, owner, rows, globex_rows):
    document = "query($id: UUID!) { task(id: $id) { id } }"
    foreign = gql(owner)(document, {"id": globex_rows["task"]})
    unknown = gql(owner)(document, {"id": "00000000-0000-0000-0000-000000000000"})
    for answer in (foreign, unknown):
        del answer["errors"][0]["locations"]
    assert foreign == unknown


def test_every_root_field_is_in_the_matrix():
    graphql_schema = schema._schema
    fields = set(graphql_schema.query_type.fields) | set(graphql_schema.mutation_type.fields)
    assert fields == set(OPERATIONS)


def test_a_token_of_acme_is_refused_on_globex(tenant, other_tenant, owner):
    token = issue_token(tenant, owner)
    assert GraphQLClient(tenant.primary_host, token).post(ME).status_code == 200
    response = GraphQLClient(other_tenant.primary_host, token).post(ME)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_malformed_or_revoked_token_is_a_401(gql, tenant, owner):
    client = gql(owner)
    assert client.post(ME).status_code == 200
    with tenant_context(tenant):
        from knox.models import AuthToken

        AuthToken.objects.filter(user=owner).delete()
    assert client.post(ME).status_code == 401
    assert GraphQLClient(tenant.primary_host, "abc\x01").post(ME).status_code in (400, 401)
    assert GraphQLClient(tenant.primary_host, "not-a-token").post(ME).status_code == 401


def test_a_deactivated_users_token_is_refused_as_in_rest(gql, api_client, tenant, member):
    client = gql(member)
    rest = api_client(member)
    with tenant_context(tenant):
        get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    assert client.post(ME).status_code == 401
    assert rest.get("/api/v1/me/").status_code == 401


def test_a_session_reads_and_writes_with_its_csrf_token(tenant, member, rows):
    from django.test import Client

    browser = Client(HTTP_HOST=tenant.primary_host, enforce_csrf_checks=True, raise_request_exception=False)
    with tenant_context(tenant):
        browser.force_login(member)
    client = GraphQLClient(tenant.primary_host, client=browser)
    # A query by GET needs no CSRF token: it cannot change anything.
    response = browser.get("/graphql/", {"query": ME})
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == member.email
    document = 'mutation { createProject(input: {name: "From the browser"}) { name } }'
    refused = client.post(document)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "CSRF_FAILED"
    browser.get("/projects/")  # the page sets the CSRF cookie, as in a browser
    token = browser.cookies["csrftoken"].value
    accepted = client.post(document, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["data"]["createProject"]["name"] == "From the browser"


def test_a_mutation_cannot_be_sent_by_get(web, member):
    response = web(member).get(
        "/graphql/", {"query": 'mutation { createProject(input: {name: "x"}) { id } }'}
    )
    assert response.status_code == 400


def test_a_session_that_owes_its_second_factor_reaches_no_data(web, tenant, member):
    with tenant_context(tenant):
        TOTPDevice.objects.create(user=member, name="app", confirmed=True)
    browser = web(member)  # signed in with the password only: the code step is still due
    response = browser.get("/graphql/", {"query": ME})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert b"member@acme.test" not in response.content


def test_without_credentials_every_operation_is_a_401(tenant_client):
    response = tenant_client.post("/graphql/", {"query": ME}, content_type="application/json")
    assert response.status_code == 401


def test_graphiql_is_served_only_with_debug(settings, tenant_client, web, member):
    settings.DEBUG = True
    page = tenant_client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"graphiql" in page.content.lower()
    settings.DEBUG = False
    assert b"graphiql" not in tenant_client.get("/graphql/", HTTP_ACCEPT="text/html").content.lower()
    signed_in = web(member).get("/graphql/", HTTP_ACCEPT="text/html")
    assert signed_in.status_code == 404 and b"graphiql" not in signed_in.content.lower()


def test_the_root_domain_has_no_graphql(root_client):
    assert root_client.post("/graphql/", {"query": ME}, content_type="application/json").status_code == 404
