"""One error format for the tenant and operator APIs: DRF's own.

- A request that fails validation answers 400 with ``{"<field>": ["message", ...]}``; errors not
  tied to a field are under ``"non_field_errors"``.
- Every other error answers ``{"detail": "message"}`` with its status (401, 403, 404, 405, 413,
  415, 429).

Services raise Django's ValidationError keyed by field (``{"role": [...]}``) and PermissionDenied;
both are mapped here, so a view never translates them by hand.
"""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


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
    elif isinstance(exc, RequestDataTooBig):  # DATA_UPLOAD_MAX_MEMORY_SIZE, checked when DRF reads the body
        exc = PayloadTooLarge()
    return drf_exception_handler(exc, context)
