"""The limits of /graphql/ (config/api/graphql.py) and hostile bodies: each refusal is a 4xx with a
GraphQL-shaped error that says what was refused, never a 500, and nothing is written."""

import base64
import json

import pytest
from django_tenants.utils import tenant_context
from graphql import get_introspection_query

from config.api import graphql as limits
from tenant_apps.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(gql, member):
    return gql(member)


def messages(response, status=400) -> str:
    assert response.status_code == status, response.content
    errors = response.json()["errors"]
    assert errors and all(error["message"] for error in errors)
    return " | ".join(error["message"] for error in errors)


def test_the_deepest_useful_query_passes_the_depth_limit(client):
    deepest = (
        "{ tasks(first: 1) { edges { node { "
        "comments(first: 1) { edges { node { author { email } } } } } } } }"
    )
    assert "errors" not in client(deepest)


def test_a_query_deeper_than_the_limit_is_refused_before_running(client):
    query = "email"
    for level in range(limits.MAX_DEPTH + 1):
        query = f"f{level} {{ {query} }}"
    response = client.post("{ me { " + query + " } }")
    assert f"exceeds maximum operation depth of {limits.MAX_DEPTH}" in messages(response)


def test_a_query_that_would_resolve_too_many_values_is_refused_with_its_cost(client):
    response = client.post(
        "{ tasks(first: 100) { edges { node { title comments(first: 100) { edges { node { body } } } } } } }"
    )
    error = response.json()["errors"][0]
    assert response.status_code == 400
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY" and error["extensions"]["cost"] > limits.MAX_COST
    # The same query with smaller pages is fine; a page size hidden in a variable counts as the maximum.
    assert "errors" not in client(
        "{ tasks(first: 10) { edges { node { title comments(first: 10) { edges { node { body } } } } } } }"
    )
    hidden = (
        "query($n: Int) { tasks(first: $n) { edges { node { "
        "comments(first: $n) { edges { node { body } } } } } } }"
    )
    assert "limit is" in messages(client.post(hidden, {"n": 10}))


def test_fragments_count_where_they_are_spread(client):
    document = """
        query { tasks(first: 100) { edges { node { ...Heavy } } } }
        fragment Heavy on Task { comments(first: 100) { edges { node { body } } } }
    """
    assert "limit is" in messages(client.post(document))


def test_a_page_larger_than_the_limit_is_a_clear_error(client):
    body = client(f"{{ projects(first: {limits.MAX_PAGE_SIZE + 1}) {{ edges {{ node {{ id }} }} }} }}")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == f"Argument 'first' cannot be higher than {limits.MAX_PAGE_SIZE}."
    assert (
        client("{ projects(first: -1) { edges { node { id } } } }")["errors"][0]["extensions"]["code"]
        == "BAD_USER_INPUT"
    )
    for cursor in ("bm90LWEtY3Vyc29y", "%%%", "YXJyYXljb25uZWN0aW9uOng="):
        body = client("query($c: String) { projects(after: $c) { edges { node { id } } } }", {"c": cursor})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


def test_too_many_aliases_are_refused(client):
    aliases = " ".join(f"a{n}: me {{ email }}" for n in range(limits.MAX_ALIASES + 1))
    assert "aliases" in messages(client.post("{ " + aliases + " }"))


def test_a_document_of_too_many_tokens_is_refused(client):
    fields = " ".join(["email"] * limits.MAX_TOKENS)
    assert "token" in messages(client.post("{ me { " + fields + " } }")).lower()


def test_the_introspection_query_of_graphiql_is_answered(client):
    body = client(get_introspection_query(descriptions=True))
    assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query"


def test_an_introspection_bomb_is_refused(client):
    bomb = (
        "{ __schema { types { fields { type { fields { type { "
        "fields { type { fields { name } } } } } } } } } }"
    )
    assert "introspection" in messages(client.post(bomb)).lower()


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b'{"query": "{ me { email } }\x00"}', "application/json", 400),  # a raw NUL: not JSON
        (b'{"query": "{ me { email } }\\u0000"}', "application/json", 400),  # an escaped NUL in the query
        (b"[" * 30_000 + b"]" * 30_000, "application/json", 400),  # deep JSON, within the size limit
        (b'{"query": ' * 40 + b"1" + b"}" * 40, "application/json", 400),
        (b"not json at all", "application/json", 400),
        (b"\xff\xfe\x00\x00", "application/json", 400),  # not UTF-8
        (b'[{"query": "{ me { email } }"}]', "application/json", 400),  # a batch
        (b'{"query": 42}', "application/json", 400),
        (b'{"query": "{ me { email } }", "variables": [1]}', "application/json", 400),
        (b"{}", "application/json", 400),  # no query
        (b"query=%7B+me+%7B+email+%7D+%7D", "application/x-www-form-urlencoded", 415),
        (b'{"query": "{ me { email } }"}', "text/plain", 415),
        (b"--zz\r\ngarbage\r\n", "multipart/form-data; boundary=zz", 415),
        (b'{"query": "' + b"x" * (limits.MAX_BODY_BYTES + 1) + b'"}', "application/json", 413),
        (b'{"query": "' + b"x" * 10 * 1024 * 1024 + b'"}', "application/json", 413),
    ],
    ids=[
        "raw NUL",
        "escaped NUL",
        "deep JSON",
        "JSON nested past the limit",
        "not JSON",
        "not UTF-8",
        "a batch",
        "query not a string",
        "variables not an object",
        "no query",
        "a form",
        "text/plain",
        "multipart",
        "just over the body limit",
        "10 MB",
    ],
)
def test_a_hostile_body_is_a_4xx_in_graphqls_error_format(client, body, content_type, status):
    response = client.send(body, content_type)
    messages(response, status)


def test_a_nul_in_a_variable_is_a_field_error_and_writes_nothing(client, tenant):
    body = client(
        "mutation($name: String!) { createProject(input: {name: $name}) { id } }", {"name": "a\x00b"}
    )
    assert body["data"] == {"createProject": None}
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": {"name": ["Null characters are not allowed."]},
    }
    with tenant_context(tenant):
        assert not Project.objects.exists()


def test_a_get_without_a_query_is_a_400(client, web, member):
    response = web(member).get("/graphql/", {"page": "1"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


def test_put_and_delete_are_refused(web, member):
    browser = web(member)
    for method in ("PUT", "DELETE", "PATCH"):
        response = browser.generic(
            method, "/graphql/", json.dumps({"query": "{ me { email } }"}), "application/json"
        )
        assert response.status_code == 405


@pytest.mark.parametrize(
    "cursor",
    ["arrayconnection:99999999999999999999", "arrayconnection:-5", "otherprefix:3", "arrayconnection:x"],
    ids=["past PostgreSQL's OFFSET", "negative", "another prefix", "not a number"],
)
def test_a_cursor_the_list_never_gave_is_a_field_error_not_a_database_error(client, rows, cursor):
    encoded = base64.b64encode(cursor.encode()).decode()
    for document in (
        "query($c: String) { tasks(after: $c, first: 5) { edges { node { id } } } }",
        "query($c: String) { projects(before: $c, last: 3) { edges { node { id } } } }",
        "query($c: String) { tasks(first: 5) { edges { node { "
        "comments(first: 5, after: $c) { edges { node { id } } } } } } }",
    ):
        body = client(document, {"c": encoded})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


@pytest.mark.parametrize(
    "document",
    [
        "query($s: String) { tasks(search: $s) { edges { node { id } } } }",
        "query($s: String) { projects(search: $s) { edges { node { id } } } }",
        '{ tasks(search: "a\\u0000b") { edges { node { id } } } }',
    ],
    ids=["tasks, in a variable", "projects, in a variable", "tasks, escaped in the document"],
)
def test_a_nul_in_a_search_is_a_field_error(client, document):
    body = client(document, {"s": "a\x00b"})
    assert body["errors"][0]["extensions"]["fields"] == {"search": ["Null characters are not allowed."]}


def test_graphql_shares_the_rest_apis_per_user_rate_and_says_when_to_retry(
    client, api_client, member, settings
):
    settings.API_THROTTLE_RATES = {"user": "3/min", "anon": "3/min"}
    assert api_client(member).get("/api/v1/me/").status_code == 200  # one from the REST bucket
    statuses = [client.post("{ me { email } }").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.post("{ me { email } }")
    assert messages(refused, status=429) == "Request was throttled."
    assert int(refused["Retry-After"]) > 0


def test_graphql_throttle_buckets_are_per_schema(gql, member, stranger, other_tenant, settings):
    settings.API_THROTTLE_RATES = {"user": "1/min", "anon": "1/min"}
    acme = gql(member)
    assert acme.post("{ me { email } }").status_code == 200
    assert acme.post("{ me { email } }").status_code == 429
    assert gql(stranger, where=other_tenant).post("{ me { email } }").status_code == 200
