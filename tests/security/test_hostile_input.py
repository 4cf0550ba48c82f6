"""Hostile input on every URL of the platform: no server error, and a refusal changes nothing.

The walk covers the root domain's URLconf (as anonymous and as an operator) and a tenant's (acme:
anonymous, member, admin, owner). Every pattern of both is filled in with real ids of rows made
below (and with invalid ones), so a new URL is covered without adding anything here; a pattern the
walk cannot fill fails ``test_every_url_pattern_is_filled_in``, naming it.

For each URL the privileged persona first loads the page once to learn its inputs: the query
parameters its links and search forms use, the fields of its POST forms, and for API routes the
parameters and body fields of the OpenAPI schema. Then each persona sends each kind of hostile
input (``INPUTS``): NUL and other control characters in the path, the query string, headers,
cookies, credentials, form and JSON bodies; deep JSON; wrong content types; invalid ids; and, once
per URL, a 10 MB body. Every request runs in a savepoint that is rolled back, so each one starts
from the same rows; a 4xx answer must have written nothing (axes' sign-in records aside: counting
failed sign-ins is their job).

The count of URL x input x persona cases is printed in the terminal summary.
"""

import base64
import copy
import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import storages
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponseBadRequest
from django.test import Client, override_settings
from django.urls import path
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context, tenant_context
from knox.models import AuthToken

from tenant_apps.accounts import invitations
from tenant_apps.accounts.models import UserSession
from tenant_apps.accounts.roles import Role
from tenant_apps.accounts.services import create_user_with_role
from tenant_apps.projects import services as projects
from tenant_apps.projects.models import Project
from tenants import domains, exports
from tenants.models import Domain, Tenant, TenantExport
from tests.security import walk

# pytest-django creates the test database only for a run with tests marked as using it.
pytestmark = pytest.mark.django_db

PASSWORD = "a-long-hostile-walk-password"
NUL = "a\x00b"
CONTROL = "ok\x01\x08\x1b[31m\x7f\u202e"
# Printable, past every control-character check: a number, a date or an id to no parser, and a
# number too big for any column.
JUNK = "x'\"<>{}%é"
OVERFLOW = "9" * 40
# Failed sign-ins are recorded on purpose (django-axes): a 400 for bad credentials writes them.
AUDIT_TABLES = (
    "axes_accessattempt",
    "axes_accessfailurelog",
    "axes_accesslog",
    "axes_accessattemptexpiration",
)
TEN_MB = 10 * 1024 * 1024

# The sample row an id stands for, by the path segment before it (users/<id>/ is a user's id).
ID_SAMPLES = {
    "users": "user",
    "invitations": "invitation",
    "projects": "project",
    "tasks": "task",
    "tenants": "tenant",
    "exports": "export",  # the operator API's exports of a tenant
    "domains": "domain",  # the operator API's domains of a tenant
    "export": "export",  # the owner's page, /admin/export/<id>/download/
    "sessions": "session",  # the profile's, /account/sessions/<id>/revoke/ (the member's)
    "tokens": "token",  # the profile's, /account/tokens/<prefix>/revoke/ (the member's)
}
# Query parameters tried on every URL, beside the ones each page turns out to use.
COMMON_QUERY = [
    "page",
    "page_size",
    "search",
    "ordering",
    "q",
    "o",
    "p",
    "next",
    "format",
    "status",
    "assignee",
    "due",
    "project",
    "archived",
    "token",
    "email",
    "_changelist_filters",
]
# Body fields tried on every POST, beside the ones each form or schema names.
COMMON_FIELDS = ["email", "password", "username", "name", "title", "body", "role", "token", "next"]


# --- The world: rows and personas, made once for the module -------------------------------------


@dataclass
class Persona:
    name: str
    client: Client
    token: str | None = None  # Bearer token for API routes
    webhook_auth: str | None = None  # basic auth of the email tracking webhook

    def credentials(self, route: walk.Route) -> dict[str, str]:
        """A session everywhere (the client's cookie), plus what the route itself takes."""
        if route.is_api and self.token:
            return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if route.route.startswith("webhooks/") and self.webhook_auth:
            return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(self.webhook_auth.encode()).decode()}
        return {}


@dataclass
class Site:
    label: str
    urlconf: str
    host: str
    schema: str
    personas: list[Persona]
    privileged: Persona
    ids: dict[str, str]  # sample kind -> public id of a row of this site
    foreign_ids: dict[str, str]  # sample kind -> public id of another tenant's row
    secrets: dict[str, str] = field(default_factory=dict)


# Django's CSRF check runs as in production (it parses a form body before the view does); every
# persona holds this token, as a browser would after its first page.
CSRF = "walkwalkwalkwalkwalkwalkwalkwalk"


def _client(host: str, user=None, schema: str | None = None) -> Client:
    client = Client(
        HTTP_HOST=host, raise_request_exception=False, enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF
    )
    client.cookies["csrftoken"] = CSRF
    if user is not None:
        with schema_context(schema):
            client.force_login(user)
    return client


def _token(user, schema: str) -> str:
    with schema_context(schema):
        return AuthToken.objects.create(user=user)[1]


def _tenant_rows(tenant: Tenant, label: str) -> dict:
    """A user of each role, a user without one, and a row of every model the tenant's admin and API
    show, made through the services where one exists."""
    with tenant_context(tenant):
        owner = create_user_with_role(f"owner-{label}@walk.test", Role.OWNER, password=PASSWORD)
        admin = create_user_with_role(f"admin-{label}@walk.test", Role.ADMIN, password=PASSWORD)
        member = create_user_with_role(f"member-{label}@walk.test", Role.MEMBER, password=PASSWORD)
        get_user_model().objects.create_user(f"nobody-{label}@walk.test", PASSWORD)
        project = projects.create_project(owner, name="Walk", description="hostile input")
        task = projects.create_task(owner, project, title="Survive", assignee=member)
        projects.add_comment(member, task, "A comment")
        projects.update_preferences(member, digest=False)
        invitation = invitations.invite(owner, f"invitee-{label}@walk.test", Role.MEMBER)
        # The raw token is only in the email: give the row a known one.
        raw_invitation = uuid.uuid4().hex
        invitation.token_hash = invitations.hash_token(raw_invitation)
        invitation.save(update_fields=["token_hash"])
        # A session of the member's, beside its persona's, and an API token (the profile's revokes).
        browser = Client()
        browser.force_login(member)
        session = UserSession.objects.get(session_key=browser.cookies[settings.SESSION_COOKIE_NAME].value)
        token = AuthToken.objects.create(user=member)[1]
        return {
            "owner": owner,
            "admin": admin,
            "member": member,
            "ids": {
                "user": str(member.public_id),
                "invitation": str(invitation.public_id),
                "project": str(project.public_id),
                "task": str(task.public_id),
                "session": str(session.public_id),
                "token": token[:8],
            },
            "invitation_token": raw_invitation,
            "reset_uid": urlsafe_base64_encode(force_bytes(member.pk)),
            "reset_token": default_token_generator.make_token(member),
        }


def _public_rows() -> dict:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    connection.set_schema_to_public()
    operator = get_user_model().objects.create_user(
        "operator@walk.test", PASSWORD, is_staff=True, is_superuser=True
    )
    Group.objects.create(name="walk-support")
    sample = {
        "user_agent": "walk",
        "ip_address": "192.0.2.1",
        "username": "x@walk.test",
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    AccessAttempt.objects.create(**sample, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**sample)
    AccessFailureLog.objects.create(**sample)
    # Another operator's two-factor devices, for django-otp's admin pages (the walking operator has
    # none: with one, an unverified session would be kept out of the admin).
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    colleague = get_user_model().objects.create_user("colleague@walk.test", PASSWORD, is_staff=True)
    TOTPDevice.objects.create(user=colleague, name="phone", confirmed=True)
    StaticDevice.objects.create(user=colleague, name="recovery", confirmed=True).token_set.create(
        token="walkcode1"
    )
    # The root site's Wagtail pages (home, pricing, docs, changelog), as `manage.py dev` seeds them.
    from shared_apps.site_pages.seed import seed_site_pages

    seed_site_pages()
    # Wagtail's editor subscribes its user to a page's comments on the first visit; the operator
    # has edited the home before, so a refused edit writes nothing.
    from wagtail.models import PageSubscription

    from shared_apps.site_pages.models import HomePage

    PageSubscription.objects.create(user=operator, page=HomePage.objects.get(), comment_notifications=False)
    return {"operator": operator}


def _ready_export(tenant: Tenant) -> TenantExport:
    export = exports.request_export(tenant, "operator@walk.test", TenantExport.Via.OPERATOR)
    return exports.build_export(export.pk)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    walk_settings = override_settings(
        API_THROTTLE_RATES={"user": "1000000/min", "anon": "1000000/min"},
        AXES_FAILURE_LIMIT=1000000,
        PASSWORD_RESET_EMAILS_PER_HOUR=1000000,
        SIGNUP_RATE="1000000/h",
        SIGNUP_CHECK_RATE="1000000/m",
        # Read X-Forwarded-For, as production does behind its proxy.
        TRUSTED_PROXY_COUNT=1,
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1},
        # The tracking webhook answers only with a provider and a secret configured.
        EMAIL_PROVIDER="postmark",
        ANYMAIL={**settings.ANYMAIL, "WEBHOOK_SECRET": "walk:webhook-secret", "POSTMARK_SERVER_TOKEN": "x"},
    )
    with django_db_blocker.unblock(), walk_settings, transaction.atomic():
        acme = Tenant.objects.get(slug="acme")
        globex = Tenant.objects.get(slug="globex")
        here = _tenant_rows(acme, "acme")
        there = _tenant_rows(globex, "globex")
        public = _public_rows()
        # A verified custom domain of globex: verify answers at once, make-primary and remove act.
        custom = domains.add_custom_domain(globex, "store.globex-walk.test")
        Domain.objects.filter(pk=custom.pk).update(verified_at=timezone.now())
        # A ready export of each tenant (their archives are files, removed at the end).
        archives = []
        for tenant_row, rows in ((acme, here), (globex, there)):
            export = _ready_export(tenant_row)
            rows["ids"]["export"] = str(export.public_id)
            archives.append(export.file)
        connection.set_schema_to_public()
        root_host = settings.BASE_DOMAIN
        operator = public["operator"]
        root = Site(
            label="root domain",
            urlconf=settings.PUBLIC_SCHEMA_URLCONF,
            host=root_host,
            schema="public",
            personas=[
                Persona("anonymous", _client(root_host)),
                op := Persona(
                    "operator",
                    _client(root_host, operator, "public"),
                    _token(operator, "public"),
                    webhook_auth="walk:webhook-secret",
                ),
            ],
            privileged=None,
            ids={
                "tenant": str(globex.public_id),
                "export": there["ids"]["export"],
                "domain": str(custom.public_id),
            },
            foreign_ids={},
        )
        root.privileged = op
        host = acme.primary_host
        tenant_personas = [Persona("anonymous", _client(host))]
        for role in ("member", "admin", "owner"):
            user, schema = here[role], acme.schema_name
            tenant_personas.append(Persona(role, _client(host, user, schema), _token(user, schema)))
        tenant = Site(
            label="tenant acme",
            urlconf=settings.ROOT_URLCONF,
            host=host,
            schema=acme.schema_name,
            personas=tenant_personas,
            privileged=tenant_personas[-1],
            ids=here["ids"],
            foreign_ids=there["ids"],
            secrets={key: here[key] for key in ("invitation_token", "reset_uid", "reset_token")},
        )
        writes = walk.TableWrites(["public", acme.schema_name])
        yield {"root": root, "tenant": tenant, "writes": writes}
        transaction.set_rollback(True)
        for archive in archives:
            storages["exports"].delete(archive)


# --- Filling patterns ---------------------------------------------------------------------------


def _admin_model(route: walk.Route):
    parts = walk.fill(route, {p: f"{{{p}}}" for p in route.params}).strip("/").split("/")
    try:
        return apps.get_model(parts[1], parts[2])
    except (LookupError, IndexError):
        return None


def _sample_pk(model, site: Site) -> str:
    with schema_context(site.schema):
        pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    if pk is None:
        raise walk.UnfillableRoute(f"no {model._meta.label} row to fill admin URLs with: make one in `world`")
    return str(pk)


def sample_values(route: walk.Route, site: Site) -> dict[str, str]:
    """Real values for every parameter of ``route``; UnfillableRoute naming what is missing."""
    values = {}
    for param in route.params:
        if param in dict(route.fixed) or param in values:
            continue
        segment = route.segment_before(param)
        if route.is_admin and param == "url":
            values[param] = "no-such-page/"
        elif route.is_admin and param == "content_type_id":
            model = Tenant if site.schema == "public" else apps.get_model("projects", "project")
            values[param] = str(ContentType.objects.get_for_model(model).pk)
            values["object_id"] = _sample_pk(model, site)
        elif route.is_admin and param in ("object_id", "id", "pk"):
            model = _admin_model(route)
            if model is None:
                raise walk.UnfillableRoute(f"{route.urlconf}: {route.name}: which model is {param} of?")
            values[param] = _sample_pk(model, site)
        elif segment in ID_SAMPLES and ID_SAMPLES[segment] in site.ids:
            values[param] = site.ids[ID_SAMPLES[segment]]
        elif segment == "invitations" and param == "token":
            values[param] = site.secrets["invitation_token"]
        elif segment == "reset" and param == "uidb64":
            values[param] = site.secrets["reset_uid"]
        elif param == "token" and "uidb64" in route.params:
            values[param] = site.secrets["reset_token"]
        elif site.schema == "public" and param in ("page_id", "parent_page_id"):
            # Wagtail's admin and page views (/cms/, shared_apps/site_pages): the home page.
            from shared_apps.site_pages.models import HomePage

            values[param] = str(HomePage.objects.get().pk)
        elif param == "content_type_app_name":
            values[param], values["content_type_model_name"] = "site_pages", "contentpage"
        elif param == "page_view_restriction_id":
            values[param] = "1"  # no page is restricted: the view's 404 is its answer
        elif param == "path" and "(?P<path>" in route.name:
            values[param] = "pricing/"  # Wagtail's page serving (shared_apps/site_pages/urls.py)
        elif segment == "handoff" and param == "token":
            # Shaped like a real one but unknown: a hand-off is single use and lives in the cache,
            # so no real token would survive the walk's requests (tests/accounts/test_handoff.py).
            values[param] = "walk" + "A" * 39
        else:
            raise walk.UnfillableRoute(
                f"{route.urlconf}: cannot fill <{param}> of {route.name}: teach sample_values about it"
            )
    return values


def invalid_values(route: walk.Route, param: str, site: Site) -> list[str]:
    if route.converter(param) == "uuid" or ID_SAMPLES.get(route.segment_before(param)):
        foreign = site.foreign_ids.get(ID_SAMPLES.get(route.segment_before(param), ""))
        return ["not-a-uuid", str(uuid.UUID(int=0)), "%00", *([foreign] if foreign else [])]
    return ["not-a-number", "999999999", "%00%01" + "x" * 300]


# --- Learning a URL's inputs --------------------------------------------------------------------


class PageInputs(HTMLParser):
    """Query parameter names (links, GET forms) and POST form fields with their default values."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.query: set[str] = set()
        self.fields: dict[str, str] = {}
        self._form_method: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href") and "?" in a["href"]:
            target = urlsplit(a["href"])
            if target.path in ("", self.path):
                self.query |= {k for k, _ in parse_qsl(target.query, keep_blank_values=True)}
        elif tag == "form":
            self._form_method = (a.get("method") or "get").lower()
        elif tag in ("input", "select", "textarea") and a.get("name") and self._form_method:
            if self._form_method == "get":
                self.query.add(a["name"])
            elif a.get("type") not in ("submit", "button", "file"):
                if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                    self.fields.setdefault(a["name"], "")
                else:
                    self.fields[a["name"]] = a.get("value") or ""
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._select and ("selected" in a or not self.fields.get(self._select)):
            self.fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form_method = None
        elif tag == "select":
            self._select = None


def _openapi(site: Site) -> dict:
    response = site.privileged.client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, f"{site.label}: /api/schema/ answered {response.status_code}"
    return json.loads(response.content)


def _schema_fields(schema: dict, body: dict) -> set[str]:
    while "$ref" in body:
        name = body["$ref"].rsplit("/", 1)[-1]
        body = schema["components"]["schemas"][name]
    return set(body.get("properties", {}))


@dataclass
class Target:
    route: walk.Route
    path: str
    methods: set[str]
    query: set[str]
    fields: dict[str, str]
    id_paths: list[str]  # the path with each parameter replaced by each invalid value


def learn(route: walk.Route, site: Site, openapi: dict) -> Target:
    values = sample_values(route, site)
    path = walk.fill(route, values)
    walk.check_filled(route, path)
    methods = walk.allowed_methods(route)
    persona = site.privileged
    query, fields = set(COMMON_QUERY), dict.fromkeys(COMMON_FIELDS, "")
    if route.is_api:
        operations = openapi.get("paths", {}).get(route.openapi_path(), {})
        for method, operation in operations.items():
            query |= {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            fields |= dict.fromkeys(_schema_fields(openapi, body.get("schema", {})), "")
            methods.add(method.upper())
    else:
        response = walk.isolated(
            lambda: persona.client.get(path, **persona.credentials(route)), lambda *_: None
        )[0]
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            parser = PageInputs(path)
            parser.feed(response.content.decode(errors="replace"))
            query |= parser.query
            fields |= parser.fields
    id_paths = [
        walk.fill(route, {**values, param: bad})
        for param in values
        for bad in invalid_values(route, param, site)
    ]
    return Target(route, path, methods & {"GET", "POST", "PUT", "PATCH", "DELETE"}, query, fields, id_paths)


# --- The inputs ----------------------------------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: str | None = None  # replaces the persona's cookies


def _writes(target: Target) -> list[str]:
    """The methods that carry a body, POST first (every view gets a POST: a 405 is an answer too)."""
    return [m for m in ("POST", "PUT", "PATCH") if m in target.methods]


def _with_suffix(path: str, suffix: str) -> str:
    return path[:-1] + suffix + "/" if path.endswith("/") else path + suffix


def _form(fields: dict[str, str]) -> bytes:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items()).encode()


def plain_input(t: Target) -> list[Req]:
    """Nothing hostile: the page as a browser asks for it, the baseline every other input varies."""
    return [Req("GET", t.path)]


def path_input(t: Target) -> list[Req]:
    return [Req("GET", _with_suffix(t.path, "%00")), Req("POST", _with_suffix(t.path, "%01%1b%7f"))]


def query_input(t: Target) -> list[Req]:
    # All names at once reach code that reads several; one at a time reaches a filter that a bad
    # sibling parameter would have short-circuited (the admin refuses unknown lookups first), with
    # printable values that no control-character check stops.
    every = sorted(t.query)
    one_by_one = [
        Req("GET", f"{t.path}?{quote(n)}={quote(v)}")
        for n in every
        if n not in COMMON_QUERY
        for v in (JUNK, OVERFLOW)
    ]
    return [
        Req("GET", f"{t.path}?" + "&".join(f"{quote(n)}={quote(NUL)}" for n in every) + "&%00=1"),
        Req("GET", f"{t.path}?" + "&".join(f"{quote(n)}={quote(CONTROL)}" for n in every) + "&%ff%fe=%c0%80"),
        Req("GET", f"{t.path}?" + "&".join(f"{quote(n)}={quote(JUNK)}" for n in every)),
        Req("GET", f"{t.path}?" + "&".join(f"{quote(n)}={OVERFLOW}" for n in every)),
        *one_by_one,
    ]


HOSTILE_HEADERS = {
    "HTTP_X_FORWARDED_FOR": "192.0.2.1\x00, not-an-ip, 999.1.1.1,, \x01",
    "HTTP_X_FORWARDED_PROTO": "https\x00",
    "HTTP_USER_AGENT": "walk\x00\x01\x1b",
    "HTTP_REFERER": "http://acme.localhost/\x00",
    "HTTP_ORIGIN": "http://acme.localhost\x00",
    "HTTP_ACCEPT": "text/html\x00, application/json;q=\x00",
    "HTTP_ACCEPT_LANGUAGE": "en\x00;q=0.5, \x01",
    "HTTP_IF_MODIFIED_SINCE": "\x00",
    "HTTP_IF_NONE_MATCH": "\x00",
    "HTTP_X_REQUESTED_WITH": "\x00",
    "HTTP_X_OUTBOX_KEY": "\x00",
}


def header_input(t: Target) -> list[Req]:
    # POSTs carry the page's own form, so a sign-in form reaches authentication (and django-axes
    # records the attempt under the forwarded address).
    body, kind = _plausible_body(t)
    return [
        Req("GET", t.path, headers=HOSTILE_HEADERS),
        Req("POST", t.path, body, kind, headers=HOSTILE_HEADERS),
        Req("POST", t.path, body, kind, headers={"HTTP_X_FORWARDED_FOR": "not-an-ip"}),
        Req("POST", t.path, body, kind, headers={"HTTP_X_CSRFTOKEN": "\x00"}),
    ]


def host_input(t: Target) -> list[Req]:
    return [Req("GET", t.path, headers={"HTTP_HOST": "acme.localhost\x00" + "a" * 300})]


def cookie_input(t: Target) -> list[Req]:
    return [
        Req("GET", t.path, cookies="sessionid=\x00\x01; csrftoken=\x00; messages=\x00"),
        Req("POST", t.path, cookies=f"sessionid=\x00\x01; messages=\x00\x1b; csrftoken={CSRF}"),
    ]


def credentials_input(t: Target) -> list[Req]:
    body, kind = _plausible_body(t)
    return [
        Req("POST", t.path, body, kind, headers={"HTTP_AUTHORIZATION": "Bearer abc\x00def"}),
        Req("GET", t.path, headers={"HTTP_AUTHORIZATION": "Bearer \x01\x1b é"}),
        Req("GET", t.path, headers={"HTTP_AUTHORIZATION": "Basic \x00!!!"}),
    ]


def _takes_json(t: Target) -> bool:
    """APIs, GraphQL and webhooks read JSON; pages read forms (each gets the other as a wrong
    content type)."""
    return t.route.is_api or _is_graphql(t) or t.route.route.startswith("webhooks/")


def _is_graphql(t: Target) -> bool:
    return t.route.route == "graphql/"


def _plausible_value(name: str, default: str) -> str:
    """The form's own value with control characters appended, and a well-formed address where
    one is asked for: input that passes validation goes further (a sign-in reaches authentication)."""
    if "email" in name or name == "username":
        return "walk@walk.test"
    return default if default.isdigit() else default + CONTROL


def _plausible(t: Target) -> dict[str, str]:
    return {name: _plausible_value(name, value) for name, value in t.fields.items()}


def _plausible_body(t: Target) -> tuple[bytes, str]:
    if _takes_json(t):
        return json.dumps(_plausible(t)).encode(), "application/json"
    return _form(_plausible(t)), "application/x-www-form-urlencoded"


def form_input(t: Target) -> list[Req]:
    if _takes_json(t):
        return []
    hostile = {**dict.fromkeys(t.fields, NUL), "a\x00": "1"}
    form = "application/x-www-form-urlencoded"
    return [Req("POST", t.path, _form(f), form) for f in (hostile, _plausible(t))]


def json_input(t: Target) -> list[Req]:
    if not _takes_json(t):
        return []
    bodies = [{**dict.fromkeys(t.fields, NUL), "a\x00": 1}, dict.fromkeys(t.fields, CONTROL)]
    return [Req(m, t.path, json.dumps(b).encode(), "application/json") for m in _writes(t) for b in bodies]


def deep_json_input(t: Target) -> list[Req]:
    return [Req(m, t.path, b"[" * 50_000 + b"]" * 50_000, "application/json") for m in _writes(t)]


def content_type_input(t: Target) -> list[Req]:
    body = json.dumps(dict.fromkeys(t.fields, "x")).encode()
    kinds = [
        (body, "text/plain"),
        (body, "multipart/form-data"),  # no boundary
        (b"--zz\r\ngarbage\r\n", "multipart/form-data; boundary=zz"),
        (b"\xff\xfe\x00\x00", "application/json"),
        (b"%ff%fe=%ff&a=%00", "application/x-www-form-urlencoded"),
        (body, "application/json; charset=no-such-charset"),
    ]
    # Every kind on POST; PUT and PATCH get the undecodable JSON.
    methods = _writes(t)
    return [Req(m, t.path, b, c) for m in methods for b, c in (kinds if m == methods[0] else kinds[3:4])]


def id_input(t: Target) -> list[Req]:
    return [Req(m, p) for p in t.id_paths for m in sorted(t.methods)]


# GraphQL's own hostile input (config/api/graphql.py's limits): documents built to exhaust the
# server, and hostile values in every kind of argument, of queries and mutations.
GRAPHQL_BOMBS = [
    "{ " + "me { " * 300 + "email" + " }" * 301,  # nested past any depth
    "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }",
    "{ " + " ".join(f"a{n}: tasks(first: 100) {{ edges {{ node {{ id }} }} }}" for n in range(300)) + " }",
    "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",  # a fragment cycle
    "{ tasks(first: 100) { edges { node { comments(first: 100) { edges { node { body } } } } } } }",
    "{ " + "me { email } " * 4000 + "}",  # tokens
    "{ me { email ",  # unterminated
    "",
]
GRAPHQL_WITH_VALUES = [
    "query($s: String, $c: String, $n: Int) { tasks(search: $s, assignee: $s, after: $c, first: $n) "
    "{ edges { node { id } } } projects(search: $s, before: $c, last: $n) { edges { node { id } } } }",
    "query($id: UUID!) { task(id: $id) { id } project(id: $id) { id } user(id: $id) { id } }",
    "mutation($s: String!) { createProject(input: {name: $s, description: $s}) { id } }",
    "mutation($id: UUID!, $s: String!) { updateProject(id: $id, input: {name: $s}) { id } }",
    "mutation($p: UUID!, $s: String!, $d: Date) { createTask(input: {project: $p, title: $s, dueDate: $d}) "
    "{ id } }",
    "mutation($t: UUID!, $s: String!) { addComment(task: $t, body: $s) { id } }",
    "mutation($s: String!) { inviteUser(email: $s) { id } }",
]


def _graphql_ids() -> dict[str, str]:
    """Ids of the walk's rows in acme (the only tenant site, and the only host with /graphql/)."""
    from tenant_apps.projects.models import Task

    with schema_context("acme"):
        task = Task.objects.select_related("project").order_by("pk").first()
    return {"task": str(task.public_id), "project": str(task.project.public_id)}


def graphql_input(t: Target) -> list[Req]:
    if not _is_graphql(t):
        return []
    ids = _graphql_ids()
    kind = "application/json"
    reqs = [Req("POST", t.path, json.dumps({"query": q}).encode(), kind) for q in GRAPHQL_BOMBS]
    reqs.append(Req("GET", f"{t.path}?query={quote(GRAPHQL_BOMBS[0])}"))
    # Hostile text with real ids (so the input reaches the serializers and services), then hostile ids.
    real = {"id": ids["task"], "t": ids["task"], "p": ids["project"]}
    for value, given_ids in (
        (NUL, real),
        (CONTROL, real),
        (OVERFLOW, real),
        (JUNK, dict.fromkeys(real, JUNK)),
    ):
        variables = {"s": value, "c": value, "n": value, "d": value, **given_ids}
        for query in GRAPHQL_WITH_VALUES:
            body = json.dumps({"query": query, "variables": variables}).encode()
            reqs.append(Req("POST", t.path, body, kind))
    hostile_envelope = {"query": NUL, "variables": CONTROL, "operationName": NUL, "extensions": NUL}
    reqs.append(Req("POST", t.path, json.dumps(hostile_envelope).encode(), kind))
    return reqs


INPUTS = {
    "no hostile input": plain_input,
    "control characters in the path": path_input,
    "hostile query strings (control characters, junk, 40-digit numbers)": query_input,
    "control characters in headers": header_input,
    "hostile Host header": host_input,
    "control characters in cookies": cookie_input,
    "malformed credentials": credentials_input,
    "control characters in the body": lambda t: form_input(t) + json_input(t),
    "deep JSON": deep_json_input,
    "wrong content types": content_type_input,
    "invalid ids": id_input,
    "GraphQL bombs and hostile variables": graphql_input,
}


# --- Running ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    cases: int = 0
    requests: int = 0
    failures: dict[tuple, str] = field(default_factory=dict)


def _readiness_answer(req, response) -> bool:
    """/-/ready/'s 503 naming a failed check (no worker runs during the walk) is its contract, not
    a crash; any other 5xx of it still fails."""
    if response.status_code != 503 or urlsplit(req.path).path != "/-/ready/":
        return False
    try:
        return json.loads(response.content)["status"] == "fail"
    except (ValueError, KeyError, TypeError):
        return False


def _traceback_head(response) -> str:
    """The exception, where it was raised, and the last frame in our own code on the way."""
    if not getattr(response, "exc_info", None):
        return response.content[:160].decode(errors="replace")
    _, exc, tb = response.exc_info
    ours = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith(str(settings.BASE_DIR)) and "/.venv/" not in name and "/tests/" not in name:
            ours = f"{name.removeprefix(str(settings.BASE_DIR) + '/')}:{tb.tb_lineno}"
        last = f"{name.split('site-packages/')[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    via = f", via {ours}" if ours and ours != last else ""
    return f"{type(exc).__name__}: {str(exc)[:160]} (at {last}{via})"


def send(persona: Persona, route: walk.Route, req: Req, writes: walk.TableWrites, baseline, outcome, key):
    """Send ``req`` as ``persona`` and record a server error, or a refusal that changed a table.

    Write counters only grow, so the snapshot taken after the last refusal serves as "before": a
    table written by an accepted request since then (rolled back) shows up as written, and its
    contents, equal to the baseline again, clear it."""
    client = persona.client
    saved_cookies = copy.deepcopy(client.cookies)
    extra = {**persona.credentials(route), **req.headers}
    if req.cookies is not None:
        extra["HTTP_COOKIE"] = req.cookies

    def go():
        return client.generic(req.method, req.path, req.body, content_type=req.content_type, **extra)

    def inspect(response, wrote):
        if not wrote or not 400 <= response.status_code < 500:
            return None
        try:
            now = writes.snapshot()
            changed = walk.TableWrites.written(writes.last, now)
            writes.last = now
            changed = [t for t in changed if not t.endswith(AUDIT_TABLES)]
            return {t: c for t, c in walk.table_contents(changed).items() if c != baseline.get(t)}
        except DatabaseError as exc:  # the request left its transaction unusable
            return {"(transaction)": str(exc).splitlines()[0]}

    try:
        response, changed = walk.isolated(go, inspect)
    finally:
        client.cookies = saved_cookies
    connection.set_schema_to_public()
    outcome.requests += 1
    shown = repr(req.path if len(req.path) < 120 else req.path[:117] + "...")
    if response.status_code >= 500 and not _readiness_answer(req, response):
        outcome.failures.setdefault(
            (*key, "5xx"), f"{req.method} {shown}: {response.status_code} {_traceback_head(response)}"
        )
    elif changed:
        outcome.failures.setdefault(
            (*key, "write"), f"{req.method} {shown}: {response.status_code} but changed {sorted(changed)}"
        )


def run_walk(site: Site, personas: list[Persona], writes, outcome: Outcome, request=None) -> None:
    all_routes = walk.routes(site.urlconf)
    openapi = _openapi(site) if any(r.is_api for r in all_routes) else {}
    baseline = _all_tables_baseline(writes)
    targets = [learn(route, site, openapi) for route in all_routes]
    writes.last = writes.snapshot()
    big = b"a=" + b"x" * TEN_MB
    for target in targets:
        for persona in personas:
            for input_name, make in INPUTS.items():
                outcome.cases += 1
                key = (site.label, target.route.name, input_name, persona.name)
                for req in make(target):
                    send(persona, target.route, req, writes, baseline, outcome, key)
        if site.privileged not in personas:
            continue
        # The 10 MB body once per URL, as the persona who gets furthest.
        outcome.cases += 1
        body, kind = (big, "application/x-www-form-urlencoded")
        if target.route.is_api or _is_graphql(target):
            body, kind = b'{"a": "' + b"x" * TEN_MB + b'"}', "application/json"
        method = _writes(target)[0]
        key = (site.label, target.route.name, "10 MB body", site.privileged.name)
        req = Req(method, target.path, body, kind)
        send(site.privileged, target.route, req, writes, baseline, outcome, key)
    if request is None:
        return
    stash = request.config.stash.setdefault(walk.CASES_KEY, {})
    stash[(site.label, tuple(p.name for p in personas))] = (outcome.cases, outcome.requests, len(targets))


def _all_tables_baseline(writes: walk.TableWrites) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
            [writes.schemas],
        )
        tables = [row[0] for row in cursor.fetchall()]
    return walk.table_contents(tables)


def _report(outcome: Outcome) -> str:
    lines = [
        f"{len(outcome.failures)} failing URL x input x persona case(s) "
        f"(of {outcome.cases}; {outcome.requests} requests):"
    ]
    for (site, route, input_name, persona, _), detail in sorted(outcome.failures.items()):
        lines.append(f"- [{site}] {route} | {input_name} | {persona}: {detail}")
    return "\n".join(lines)


# --- Tests ---------------------------------------------------------------------------------------


def test_every_url_pattern_is_filled_in(world):
    """Every pattern of both URLconfs gets real ids and resolves back to itself."""
    problems = []
    for site in (world["root"], world["tenant"]):
        for route in walk.routes(site.urlconf):
            try:
                walk.check_filled(route, walk.fill(route, sample_values(route, site)))
            except walk.UnfillableRoute as exc:
                problems.append(str(exc))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "site_name, persona_names",
    [
        ("root", ["anonymous", "operator"]),
        ("tenant", ["anonymous", "member"]),
        ("tenant", ["admin", "owner"]),
    ],
    ids=["root domain", "tenant: anonymous and member", "tenant: admin and owner"],
)
def test_hostile_input_gets_no_server_error_and_a_refusal_changes_nothing(
    world, site_name, persona_names, request
):
    site = world[site_name]
    personas = [p for p in site.personas if p.name in persona_names]
    outcome = Outcome()
    run_walk(site, personas, world["writes"], outcome, request)
    assert not outcome.failures, _report(outcome)


# --- The walk's own checks can fail -------------------------------------------------------------


def _writes_then_refuses(request):
    Project.objects.create(name="half-written")
    return HttpResponseBadRequest("refused after writing")


def _crashes(request):
    raise RuntimeError("a view that fails")


class URLconf:
    """A URLconf that is not a module (hashable, as Django's resolver cache needs)."""

    def __init__(self, *patterns):
        self.urlpatterns = list(patterns)


FAULTY = URLconf(path("writes-then-refuses/", _writes_then_refuses), path("crashes/", _crashes))
UNFILLABLE = URLconf(path("widgets/<int:widget_id>/", _crashes))


def test_the_walk_reports_a_server_error_and_a_refusal_that_wrote_a_row(world):
    site = dataclasses.replace(world["tenant"], urlconf=FAULTY)
    outcome = Outcome()
    with override_settings(ROOT_URLCONF=FAULTY):
        run_walk(site, [site.privileged], world["writes"], outcome)
    kinds = {(route, kind) for _, route, _, _, kind in outcome.failures}
    assert kinds == {("writes-then-refuses/", "write"), ("crashes/", "5xx")}


def test_a_pattern_the_walk_cannot_fill_fails_naming_it(world):
    (route,) = walk.routes(UNFILLABLE)
    with pytest.raises(walk.UnfillableRoute, match=r"<widget_id> of widgets/<int:widget_id>/"):
        sample_values(route, world["tenant"])
