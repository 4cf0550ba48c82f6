"""Every URL pattern of a URLconf, with its parameters filled in, for the tests that walk them all.

``routes(urlconf)`` lists each pattern once (a regex alternative such as the admin's
``(?P<app_label>accounts|projects)`` once per alternative). ``fill(route, values)`` writes a concrete
path, and ``check_filled`` proves the path resolves back to the same pattern, so a pattern the
walk cannot fill fails loudly, naming it, instead of being skipped.

``isolated(...)`` runs one request in a savepoint that is always rolled back, so every request of
a walk starts from the same rows, and ``TableWrites`` tells whether a request wrote to any table.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern

# Where the hostile walk leaves its counts of cases for the terminal summary (conftest.py).
CASES_KEY = pytest.StashKey[dict]()

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
# A named group, its body allowed one level of inner groups: Wagtail's page path is
# (?!api/)(?P<path>(?:[\w\-]+/)*) (shared_apps/site_pages/urls.py).
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")
# A lookahead or lookbehind matches no characters: a filled path leaves it out (Wagtail's
# catch-all starts with (?!api/), so /api stays the API's 404).
_LOOKAROUND = re.compile(r"\(\?<?[=!][^()]*\)")


@dataclass(frozen=True)
class Route:
    urlconf: str
    route: str  # the patterns as written, joined: "api/v1/users/<uuid:public_id>/"
    params: tuple[str, ...]
    callback: Callable = field(compare=False)
    chain: tuple = field(compare=False)  # the pattern objects from the root down
    fixed: tuple[tuple[str, str], ...] = ()  # parameters a regex alternative already decided

    @property
    def name(self) -> str:
        return self.route + "".join(f" [{k}={v}]" for k, v in self.fixed)

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/v1/")

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    def converter(self, param: str) -> str:
        """The converter of a parameter: "uuid", "path", "str", or "regex"."""
        for pattern in self.chain:
            if isinstance(pattern, RoutePattern) and param in pattern.converters:
                return type(pattern.converters[param]).__name__.removesuffix("Converter").lower()
        return "regex"

    def openapi_path(self) -> str:
        """The path as an OpenAPI schema writes it: "/api/v1/users/{public_id}/"."""
        return "/" + _template(self, lambda name: "{" + name + "}")

    def segment_before(self, param: str) -> str:
        """The literal path segment just before a parameter ("users" for users/<uuid:public_id>/)."""
        parts = _template(self, lambda name: "{" + name + "}").split("/")
        index = parts.index("{" + param + "}")
        return parts[index - 1] if index else ""


def _walk(patterns, chain=()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, (*chain, pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield (*chain, pattern.pattern), pattern.callback


def _params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return [m["name"] for m in _ROUTE_PARAM.finditer(str(pattern))]
    return [m["name"] for m in _REGEX_GROUP.finditer(str(pattern))]


# Wagtail's admin (/cms/ on the root domain) adds some 170 patterns of a third party's views,
# tested by Wagtail's own suite; every one is behind the same guard, the global admin's rule and
# second factor (shared_apps/site_pages/admin_access.py, tests/site_pages/test_cms_access.py).
# The walks take a representative set: the dashboard, the login that must not be a side door, and
# the editor of a page (StreamField's form parsing); walking all of them would add minutes (the
# editor alone costs a minute of the walk), not coverage.
CMS_WALKED = {
    "cms/",
    "cms/login/",
    "cms/pages/<int:page_id>/edit/",
}


def routes(urlconf: str) -> list[Route]:
    found = []
    for chain, callback in _walk(get_resolver(urlconf).url_patterns):
        # Joined the way Django's ResolverMatch.route joins them (a regex's "^" dropped after a
        # non-empty start: under path("", include(...)) the included regex keeps it).
        text = ""
        for p in chain:
            text = text + str(p).removeprefix("^") if text else str(p)
        if text.startswith("cms/") and text not in CMS_WALKED:
            continue
        params = tuple(name for p in chain for name in _params(p))
        # A regex alternative of plain words is a finite set: one route per word.
        choices = [
            (m["name"], m["body"].split("|"))
            for p in chain
            if isinstance(p, RegexPattern)
            for m in _REGEX_GROUP.finditer(str(p))
            if re.fullmatch(r"\w+(\|\w+)+", m["body"])
        ]
        if choices:
            (name, words), *_ = choices
            found += [Route(urlconf, text, params, callback, chain, ((name, w),)) for w in words]
        else:
            found.append(Route(urlconf, text, params, callback, chain))
    return found


def _template(route: Route, value: Callable[[str], str]) -> str:
    fixed = dict(route.fixed)
    out = []
    for pattern in route.chain:
        text = str(pattern)
        if isinstance(pattern, RoutePattern):
            out.append(_ROUTE_PARAM.sub(lambda m: fixed.get(m["name"]) or value(m["name"]), text))
        else:
            text = _LOOKAROUND.sub("", text.removeprefix("^").removesuffix("$"))
            out.append(_REGEX_GROUP.sub(lambda m: fixed.get(m["name"]) or value(m["name"]), text))
    return "".join(out)


def fill(route: Route, values: dict[str, str]) -> str:
    """The path of ``route`` with each parameter replaced by ``values[name]`` (not validated)."""
    return "/" + _template(route, lambda name: values[name])


class UnfillableRoute(AssertionError):
    pass


def check_filled(route: Route, path: str) -> None:
    """Fail, naming the pattern, unless ``path`` resolves to ``route`` itself."""
    try:
        match = resolve(path.split("?")[0], urlconf=route.urlconf)
    except Resolver404:
        raise UnfillableRoute(f"{route.urlconf}: {route.name} filled as {path!r} resolves nowhere") from None
    if match.route != route.route:
        raise UnfillableRoute(f"{route.urlconf}: {route.name} filled as {path!r} resolves to {match.route!r}")


def allowed_methods(route: Route) -> set[str]:
    """GET and POST for every view (a view that refuses one answers 405, which is worth seeing),
    plus whichever of PUT, PATCH and DELETE the view itself handles."""
    methods = {"GET", "POST"}
    callback = route.callback
    actions = getattr(callback, "actions", None)  # a DRF viewset's method -> action map
    if actions:
        methods |= {m.upper() for m in actions}
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None and not actions:
        methods |= {m.upper() for m in ("put", "patch", "delete") if hasattr(view_class, m)}
    return methods


# --- Requests that leave no trace ---------------------------------------------------------------


class TableWrites:
    """Counts of rows this transaction inserted, updated or deleted per table (PostgreSQL keeps
    them per backend, transaction-local, and they only grow): equal counts around a request prove
    it wrote nothing, with one cheap query instead of reading every table."""

    def __init__(self, schemas):
        self.schemas = list(schemas)
        self.last: dict[str, int] = {}

    def snapshot(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT schemaname || '.' || relname, n_tup_ins + n_tup_upd + n_tup_del "
                "FROM pg_stat_xact_user_tables WHERE schemaname = ANY(%s)",
                [self.schemas],
            )
            return dict(cursor.fetchall())

    @staticmethod
    def written(before: dict[str, int], after: dict[str, int]) -> list[str]:
        return sorted(t for t, n in after.items() if n != before.get(t, 0))


def table_contents(tables: list[str]) -> dict[str, str]:
    """A fingerprint of each table's rows (count and an order-free hash), for tables that were
    written to: a write that put everything back as it was is no change."""
    if not tables:
        return {}
    parts = []
    for table in tables:
        schema, name = table.split(".", 1)
        quoted = connection.ops.quote_name(schema) + "." + connection.ops.quote_name(name)
        parts.append(
            f"SELECT %s, count(*)::text || ':' || coalesce(sum(hashtext(t::text)), 0)::text FROM {quoted} t"
        )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), tables)
        return dict(cursor.fetchall())


class StatementKinds:
    """Whether a request sent any statement that can change a row (an execute_wrapper)."""

    READ_ONLY = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SET", "SHOW")

    def __init__(self):
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(self.READ_ONLY):
            self.wrote = True
        return execute(sql, params, many, context)


def isolated(send: Callable, inspect: Callable):
    """Send one request inside a savepoint, let ``inspect(response, wrote)`` look at the database
    while the request's writes are still there (``wrote``: it sent a statement that can change a
    row), then roll everything back."""
    kinds = StatementKinds()
    with transaction.atomic():
        with connection.execute_wrapper(kinds):
            response = send()
        try:
            return response, inspect(response, kinds.wrote)
        finally:
            transaction.set_rollback(True)
