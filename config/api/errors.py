"""One error format for every API of the platform (the tenant API and the operator API).

- 400 for input that fails validation: ``{"<field>": ["message", ...]}``; errors not tied to a
  field are under ``"non_field_errors"``, and a nested serializer's errors nest the same way.
- Every other error, including a 400 for a body that cannot be parsed at all (malformed or too
  deeply nested JSON, a control character in the request): ``{"detail": "message"}`` with its
  status: 400, 401, 403, 404, 405, 413, 415 or 429.

Services raise Django's ValidationError keyed by field (``{"role": [...]}``) and PermissionDenied;
both are mapped here (400 and 403, a PermissionDenied's reason as the detail: a plan's limit
reached answers ``403 {"detail": "Acme's plan (free) allows 5 users; ..."}``), so a view never
translates them by hand.

A URL under ``/api/`` that no view answers gets the same format (``not_found``, both URLconfs'
``handler404``): an API client parses every answer of the API the same way. Other URLs keep
Django's 404 page. (With DEBUG on, Django shows its debug page instead of any handler404.)
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.request_guards import is_api_path


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed sign-in attempts. Try again later."
    default_code = "locked_out"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied) and exc.args:
        # A service's refusal that says why (a plan's limit reached, "only owners...") keeps its
        # reason; DRF would answer its generic sentence. A bare PermissionDenied still does.
        exc = exceptions.PermissionDenied(detail=str(exc))
    elif isinstance(exc, RequestDataTooBig):  # DATA_UPLOAD_MAX_MEMORY_SIZE, checked when DRF reads the body
        exc = PayloadTooLarge()
    return drf_exception_handler(exc, context)


def not_found(request, exception):
    """Both URLconfs' handler404: JSON under /api/, Django's page elsewhere."""
    if is_api_path(request.path_info):
        detail = str(exceptions.NotFound.default_detail)
        return JsonResponse({"detail": detail}, status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception)
