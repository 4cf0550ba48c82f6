"""Per-user and per-address request throttles, counted per schema.

DRF's throttles key on the user's primary key, which is only unique within one schema: user 5 of
acme and user 5 of globex would share a bucket. The schema name is part of every key here. The
client address is ``tenants.request_guards.client_address`` (validated, behind the same trusted
proxies as the sign-in lockout), not DRF's own X-Forwarded-For reading. Rates are read from
``settings.API_THROTTLE_RATES`` on each request (DRF reads its own at import).
"""

from django.conf import settings
from django.db import connection
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tenants.request_guards import client_address


class _SchemaScoped:
    def get_rate(self):
        return settings.API_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_address(request) or "unknown"

    def get_cache_key(self, request, view):
        key = super().get_cache_key(request, view)
        return None if key is None else f"{connection.schema_name}:{key}"


class UserThrottle(_SchemaScoped, UserRateThrottle):
    scope = "user"


class AnonThrottle(_SchemaScoped, AnonRateThrottle):
    scope = "anon"
