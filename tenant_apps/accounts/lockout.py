"""django-axes hooks: which account an attempt is for, and what a locked-out client sees."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def username_of_attempt(request, credentials) -> str | None:
    """The email an attempt is for, lower-cased like stored emails, so ``Ann@X`` and ``ann@x``
    count against the same account. Sign-in forms and the admins post ``username``; the API
    posts ``email``."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        try:
            value = data.get("username") or data.get("email")
        except AttributeError:  # a JSON body that is a list, not an object
            value = None
    return value.strip().lower() if isinstance(value, str) else None


def lockout_response(request, original_response=None, credentials=None):
    message = "Too many failed sign-in attempts. Try again later."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)


def client_address(request) -> str | None:
    """The client's address, for per-address lockouts.

    Behind ``TRUSTED_PROXY_COUNT`` reverse proxies (Caddy in production), REMOTE_ADDR is the nearest
    proxy, shared by every client; the client is the entry the outermost proxy appended to
    X-Forwarded-For, counted from the right (entries further left are whatever the client sent,
    and cannot be trusted).
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR")
