"""Per-client-address limits on the signup form and its availability check.

A fixed-window counter in the cache (Redis: ``add`` then ``incr`` are atomic, so concurrent
requests never lose a count). Neither of the project's other limiters fits: django-axes counts
failed sign-ins against an account, and signup has no account yet; DRF's throttles belong to API
views (config/api/throttling.py), and these are HTML pages and a small JSON endpoint of the root
domain. The client address comes from ``tenants.request_guards.client_address`` (behind the
trusted proxies); requests without a usable one share one bucket, which is stricter, not looser.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from tenants.request_guards import client_address

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"5/h"`` -> (5, 3600): requests allowed per period of that many seconds."""
    try:
        count, period = rate.split("/")
        return int(count), PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError, AttributeError):
        raise ImproperlyConfigured(f"{rate!r} is not a rate like '5/h' (per s, m, h or d).") from None


@dataclass(frozen=True)
class Limited:
    retry_after: int  # seconds until the window resets


def hit(request, scope: str, rate: str) -> Limited | None:
    """Count one request of the client in ``scope``; a Limited when it is over ``rate``."""
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    key = f"signup:throttle:{scope}:{client_address(request) or 'unknown'}:{period}:{window}"
    # The key outlives its window by a little, so a slow clock between web workers never resets it.
    cache.add(key, 0, timeout=period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens the window again
        cache.add(key, 1, timeout=period + 5)
        count = 1
    if count > limit:
        return Limited(retry_after=max(1, int((window + 1) * period - now)))
    return None
