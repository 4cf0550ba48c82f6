"""Per-user and per-address request throttles, counted per schema.

DRF's throttles key on the user's primary key, which is only unique within one schema: user 5 of
acme and user 5 of globex must not share a bucket. They do not, because the cache's key function
(django-tenants' ``make_key``, CACHES in config/settings.py) starts every key with the schema.
The client address is ``tenants.request_guards.client_address`` (validated, behind the same
trusted proxies as the sign-in lockout), not DRF's own X-Forwarded-For reading. Rates are read
from ``settings.API_THROTTLE_RATES`` on each request (DRF reads its own at import).
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tenants.request_guards import client_address


class _Throttle:
    def get_rate(self):
        return settings.API_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_address(request) or "unknown"


class UserThrottle(_Throttle, UserRateThrottle):
    scope = "user"


class AnonThrottle(_Throttle, AnonRateThrottle):
    scope = "anon"
