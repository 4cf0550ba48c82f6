"""django-axes hooks: which account an attempt is for, and what a locked-out client sees."""

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
