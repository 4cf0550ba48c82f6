"""GraphQL plumbing for a workspace's ``/graphql/``: the view, its limits and its error format.

Why strawberry-graphql-django rather than graphene-django: it is the maintained one (graphene-django
has had few releases since 2023), its types are Python type hints checked by mypy/pyright, its
optimizer extension turns a query's selections into ``select_related``/``prefetch_related``/
``only``/annotations (no N+1), it ships Relay cursor connections, and strawberry brings
``QueryDepthLimiter``, ``MaxTokensLimiter`` and ``MaxAliasesLimiter``. The README's GraphQL
section says the same for users of the API.

The apps write their types, queries and mutations in their ``api/graphql.py`` (they call the same
services as the REST API); ``build_schema`` puts them in one schema with these limits, and the
URLconf (config/graphql_urls.py) serves it with ``GraphQLView``. Nothing here knows an app.

**Who may ask.** The session (a POST also needs the CSRF token, as any form) or the REST API's
Bearer tokens (``BearerTokenAuthentication``: a token is valid only in the schema that issued it, so
acme's token is a 401 on globex). No credentials: 401, for every operation (nothing is public).
A session that still owes a second factor is stopped before the view, as for ``/api/``
(tenant_apps/accounts/two_factor.py).

**Errors.** An HTTP-level refusal (credentials, CSRF, body size, content type, malformed or too deep
JSON) answers its 4xx status with ``{"errors": [{"message", "extensions": {"code"}}]}``. A query the
schema or the limits refuse (syntax, unknown field, depth, cost, tokens, aliases) is a 400 with the
same shape. A resolver's refusal is a GraphQL error beside ``data`` (status 200), its code in
``extensions``: ``BAD_USER_INPUT`` with ``fields`` as the REST API's 400 body (``{"title": ["..."]}``,
``non_field_errors``), ``FORBIDDEN``, ``NOT_FOUND`` (also for another tenant's ids: "not found" and
"not yours" are the same answer). Anything else is a bug: a 500 whose message says nothing.
"""

import json
import logging
import math

import strawberry
from cross_web import HTTPException as _HTTPException  # strawberry's HTTP-level refusals
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphql import GraphQLError, OperationDefinitionNode, ValidationRule
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, IntValueNode, VariableNode
from graphql.type import get_named_type
from graphql.validation.rules.max_introspection_depth_rule import MaxIntrospectionDepthRule
from rest_framework import exceptions
from rest_framework import serializers as drf_serializers
from strawberry import relay
from strawberry.django.views import GraphQLView as StrawberryGraphQLView
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.relay.utils import from_base64
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension
from strawberry_django.relay import DjangoListConnection

from config.api.authentication import BearerTokenAuthentication
from config.api.throttling import UserThrottle
from tenants.request_guards import nesting_exceeds

logger = logging.getLogger(__name__)

# --- The limits -------------------------------------------------------------------------------
# A request body: a query with its variables is a few kilobytes; 64 KiB is generous and bounds
# the parsing work a single request can ask for before any limit below is checked.
MAX_BODY_BYTES = 64 * 1024
# JSON nesting of the body (variables included), as the REST API's parser (config/api/parsers.py).
MAX_JSON_DEPTH = 32
# Fields inside fields. The deepest useful query of our schema (tasks > edges > node > comments >
# edges > node > author > email) is 8; 10 leaves room without allowing a recursive walk.
MAX_DEPTH = 10
# Lexical tokens in the query document: bounds parsing and validation work (an introspection
# query, the largest legitimate document, is about 300).
MAX_TOKENS = 2000
# Aliases ask for the same field again under another name: 15 covers a dashboard, not a bomb.
MAX_ALIASES = 15
# Items in one page of a connection (``first``/``last``): the REST API's page_size tops out at 200;
# GraphQL lists nest, so 100.
MAX_PAGE_SIZE = 100
# The estimated number of values a query resolves (``QueryCostLimiter``): 50 tasks with their
# project, assignee and comment count cost about 300; a page of 100 tasks each with 100 comments
# costs 40,000 and is refused.
MAX_COST = 5000


class QueryCostLimiter(ValidationRule):
    """Refuse an operation whose estimated cost passes MAX_COST, before it runs.

    The cost of a field is how many times it would be resolved: 1 at the top, multiplied by the
    page size (``first``/``last``, or MAX_PAGE_SIZE when absent or a variable) for everything
    inside a connection (a field taking ``first``). Fragments count where they are spread;
    introspection counts like any field (its depth is bounded by MaxIntrospectionDepthRule).
    """

    def enter_operation_definition(self, node: OperationDefinitionNode, *_):
        schema = self.context.schema
        root = schema.get_root_type(node.operation)
        if root is None:
            return
        cost = self._cost(node.selection_set, root, 1, frozenset())
        if cost > MAX_COST:
            self.report_error(
                GraphQLError(
                    f"This query would resolve about {cost} values; the limit is {MAX_COST}. "
                    "Ask for fewer items (first:) or fewer nested lists.",
                    node,
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": MAX_COST},
                )
            )

    def _cost(self, selection_set, parent_type, multiplier: int, fragments: frozenset) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field = getattr(parent_type, "fields", {}).get(selection.name.value)
                total += multiplier
                if field is None or selection.selection_set is None:
                    continue
                inner = multiplier * _page_size(selection) if "first" in field.args else multiplier
                total += self._cost(selection.selection_set, get_named_type(field.type), inner, fragments)
            elif isinstance(selection, InlineFragmentNode):
                type_ = parent_type
                if selection.type_condition is not None:
                    type_ = self.context.schema.get_type(selection.type_condition.name.value) or parent_type
                total += self._cost(selection.selection_set, type_, multiplier, fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in fragments:  # unknown or cyclic: other rules refuse it
                    continue
                type_ = self.context.schema.get_type(fragment.type_condition.name.value) or parent_type
                total += self._cost(fragment.selection_set, type_, multiplier, fragments | {name})
            if total > MAX_COST * MAX_PAGE_SIZE:  # already refused: stop counting
                return total
        return total


def _page_size(field: FieldNode) -> int:
    arguments = field.arguments or ()
    sizes = [
        int(arg.value.value)
        for arg in arguments
        if arg.name.value in ("first", "last") and isinstance(arg.value, IntValueNode)
    ]
    variable = any(
        arg.name.value in ("first", "last") and isinstance(arg.value, VariableNode) for arg in arguments
    )
    if not sizes or variable:
        return MAX_PAGE_SIZE
    return max(0, min(max(sizes), MAX_PAGE_SIZE))


# --- Pages -------------------------------------------------------------------------------------

# A cursor is an offset into the list; past this one it is no cursor we ever gave (and PostgreSQL's
# OFFSET would refuse a number past 2^63 with an error).
MAX_OFFSET = 2**31


@strawberry.type(name="Connection", description="A page of a list, with the cursors of its items.")
class Page(DjangoListConnection[relay.NodeType]):
    """strawberry-graphql-django's connection, with its cursors checked before they reach the
    database: a cursor the list never gave is BAD_USER_INPUT, not a database error."""

    @classmethod
    def resolve_connection(cls, nodes, *, info, before=None, after=None, first=None, last=None, **kwargs):
        for name, cursor in (("before", before), ("after", after)):
            if cursor is not None:
                _check_cursor(name, cursor)
        return super().resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
        )


def _check_cursor(name: str, cursor: str) -> None:
    try:
        prefix, offset = from_base64(cursor)
        valid = prefix == relay.Edge.CURSOR_PREFIX and 0 <= int(offset) < MAX_OFFSET
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ValidationError({name: ["Not a cursor of this list."]})


def check_text(name: str, value: str | None) -> str | None:
    """``value`` of a free-text argument that goes to the database unvalidated (a search): a NUL,
    which PostgreSQL cannot hold in text, is a field error."""
    if value is not None and "\x00" in value:
        raise ValidationError({name: ["Null characters are not allowed."]})
    return value


# --- Errors -----------------------------------------------------------------------------------


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None):
        """Give each error its code (the module's docstring) before it is sent; log the bugs."""
        response = getattr(getattr(execution_context, "context", None), "response", None)
        if response is not None and errors and all(error.path is None for error in errors):
            # The document was refused before anything ran (syntax, validation, the limits): the
            # errors of resolvers, which ran, have a path.
            response.status_code = 400
        for error in errors:
            code, message, extra = _classify(error)
            error.message = message
            error.extensions = {**(error.extensions or {}), "code": code, **extra}
            if code == "INTERNAL_SERVER_ERROR":
                logger.error("GraphQL resolver failed", exc_info=error.original_error)
                if response is not None:
                    response.status_code = 500


def _classify(error: GraphQLError) -> tuple[str, str, dict]:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # The parser's, the validation rules' and the limits', or a resolver's own GraphQLError.
        code = (error.extensions or {}).get("code") or (getattr(original, "extensions", None) or {}).get(
            "code", "GRAPHQL_VALIDATION_FAILED"
        )
        return code, error.message, {}
    if isinstance(original, (ValidationError, drf_serializers.ValidationError)):
        if isinstance(original, ValidationError):
            original = exceptions.ValidationError(detail=drf_serializers.as_serializer_error(original))
        detail = (
            original.detail if isinstance(original.detail, dict) else {"non_field_errors": original.detail}
        )
        return "BAD_USER_INPUT", "Invalid input: see extensions.fields.", {"fields": _plain(detail)}
    if isinstance(original, PermissionDenied):
        return "FORBIDDEN", str(original) or "You do not have permission to perform this action.", {}
    if isinstance(original, (ObjectDoesNotExist, Http404)):
        return "NOT_FOUND", "Not found.", {}
    if isinstance(original, (ValueError, TypeError)) and _raised_in_relay(original):
        # Strawberry's own refusal of a connection's arguments: "Argument 'first' cannot be higher
        # than 100.", "Argument 'after' contains a non-existing value.", a cursor that is not one.
        message = str(original) if str(original).startswith("Argument '") else "Invalid cursor."
        return "BAD_USER_INPUT", message, {}
    return "INTERNAL_SERVER_ERROR", "Internal server error.", {}


def _raised_in_relay(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by strawberry's Relay pagination (reading ``first``, ``after``...)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and "/strawberry/relay/" in last


def _plain(detail):
    """DRF's ErrorDetail strings and lists as plain JSON values."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def error_response(status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status=status)


# --- The schema -------------------------------------------------------------------------------


def build_schema(queries: list[type], mutations: list[type]) -> Schema:
    """One schema of the apps' query and mutation types, with the limits above."""
    return Schema(
        query=merge_types("Query", tuple(queries)),
        mutation=merge_types("Mutation", tuple(mutations)),
        config=StrawberryConfig(relay_max_results=MAX_PAGE_SIZE),
        # Factories: strawberry builds each extension afresh for every request.
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: AddValidationRules([MaxIntrospectionDepthRule, QueryCostLimiter]),
            DjangoOptimizerExtension,
        ],
    )


# --- The view ---------------------------------------------------------------------------------


@method_decorator(csrf_exempt, name="dispatch")  # a token needs no CSRF token; a session's is checked below
class GraphQLView(StrawberryGraphQLView):
    """``/graphql/``: GET (queries only) or POST ``application/json``. GraphiQL with DEBUG only."""

    graphql_ide = None

    def dispatch(self, request, *args, **kwargs):
        # Read per request, not at import: `manage.py dev` turns DEBUG on after settings load.
        self.graphql_ide = "graphiql" if settings.DEBUG else None
        if self.graphql_ide and self.should_render_graphql_ide(self.request_adapter_class(request)):
            return self.render_graphql_ide(request)
        refusal = self._check_body(request) or self._authenticate(request) or self._throttle(request)
        if refusal is not None:
            return refusal
        try:
            return self.run(request=request)
        except _HTTPException as exc:
            return error_response(exc.status_code, exc.reason, "BAD_REQUEST")

    def _check_body(self, request):
        if request.method != "POST":
            return None
        if request.content_type != "application/json":
            return error_response(415, "Send the query as application/json.", "UNSUPPORTED_MEDIA_TYPE")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Invalid Content-Length.", "BAD_REQUEST")
        too_large = error_response(
            413, f"The request body is over {MAX_BODY_BYTES} bytes.", "PAYLOAD_TOO_LARGE"
        )
        if length > MAX_BODY_BYTES:
            return too_large
        try:
            body = request.body
        except RequestDataTooBig:
            return too_large
        if len(body) > MAX_BODY_BYTES:
            return too_large
        try:
            text = body.decode(request.encoding or "utf-8")
        except (UnicodeDecodeError, LookupError):
            return error_response(400, "The request body is not valid UTF-8 JSON.", "BAD_REQUEST")
        if nesting_exceeds(text, MAX_JSON_DEPTH):
            return error_response(
                400, f"The JSON body nests more than {MAX_JSON_DEPTH} levels.", "BAD_REQUEST"
            )
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return error_response(400, "The request body is not valid JSON.", "BAD_REQUEST")
        if not isinstance(data, dict):
            # A list would be a batch of operations, which this endpoint does not take.
            return error_response(400, "Send one operation as a JSON object.", "BAD_REQUEST")
        return None

    def _throttle(self, request):
        """The REST API's per-user rate, in the same bucket: /graphql/ is another door to the same
        data, not a second allowance."""
        throttle = UserThrottle()
        if throttle.allow_request(request, self):
            return None
        response = error_response(429, "Request was throttled.", "THROTTLED")
        if (wait := throttle.wait()) is not None:
            response["Retry-After"] = str(math.ceil(wait))
        return response

    def _authenticate(self, request):
        try:
            found = BearerTokenAuthentication().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            return error_response(401, str(exc.detail), "UNAUTHENTICATED")
        if found is not None:
            request.user, request.auth = found
            return None
        if not request.user.is_authenticated:
            return error_response(401, "Authentication credentials were not provided.", "UNAUTHENTICATED")
        if request.method == "POST":
            # The session's cookie comes with any cross-site POST: the same check as a form's.
            refused = CsrfViewMiddleware(lambda _: None).process_view(request, None, (), {})
            if refused is not None:
                return error_response(403, "CSRF check failed: send the X-CSRFToken header.", "CSRF_FAILED")
        return None
