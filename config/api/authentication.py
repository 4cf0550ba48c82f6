"""API tokens: django-rest-knox, sent as ``Authorization: Bearer <token>``.

Why knox rather than DRF's own TokenAuthentication: DRF stores the token itself in the database
(one per user, never expiring), so a leaked dump or admin screenshot is a working credential.
knox stores only a SHA-512 digest, gives each token an expiry (settings.REST_KNOX["TOKEN_TTL"],
10 hours by default), allows one token per device and revoking one or all of them.

knox's table is in the public schema (operators) and in every tenant schema (that tenant's
users); the lookup runs in the schema of the request's host, so a token issued on acme does not
exist on globex or on the root domain, and the answer there is 401.
"""

import logging
import re

from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework import exceptions

logger = logging.getLogger(__name__)

# knox's tokens are hex (plus an optional prefix of the same kind of characters). Anything else,
# a NUL above all, must not reach the lookup query: PostgreSQL refuses NUL in text with an error.
_TOKEN = re.compile(rb"[A-Za-z0-9_-]{1,128}")


class BearerTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        if not _TOKEN.fullmatch(token):
            raise exceptions.AuthenticationFailed("Invalid token.")
        try:
            return super().authenticate_credentials(token)
        except exceptions.AuthenticationFailed:
            # Seen for tokens of another tenant, of the operator side, expired or revoked ones.
            logger.info("rejected an API token on schema %s", connection.schema_name)
            raise


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
