"""Two-factor sign-in in a workspace: the rules. The pages are in ``two_factor_views``.

**Why django-otp.** It is maintained (Jazzband), small, and the base that django-two-factor-auth,
django-allauth's MFA predecessors and others build on; its devices are plain models, so with its
apps in both SHARED_APPS and TENANT_APPS every workspace keeps its users' devices in its own schema
(a device on globex means nothing on acme) and operators keep theirs in the public schema. It
brings the parts that are easy to get wrong: RFC 6238 codes with drift, a code accepted once,
per-device throttling of wrong codes, single-use static tokens (our recovery codes). The device
mechanics shared with the operators' side are in ``tenants.second_factor``.

**The rules.**
- Any user may turn two-factor on for themselves (an authenticator app and ten recovery codes).
- A user with a confirmed authenticator gives a code at every door: ``sign_in.start_session``
  asks for it before the session exists; the API's token exchange asks for ``code``.
- An owner may require it of everyone in the workspace (``set_policy``); then a signed-in user
  without a device is sent to set one up before any other page (``TwoFactorPolicyMiddleware``), the
  token exchange refuses them, and nobody can turn their own two-factor off.
"""

import time
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_tenants.utils import get_public_schema_name

from tenant_apps.accounts import services
from tenants import second_factor, security

# A password sign-in waits this long for its code; then the password is asked again.
PENDING_SECONDS = 5 * 60
# Wrong codes one password sign-in may try (django-otp throttles each device on top of this).
PENDING_ATTEMPTS = 5
PENDING_KEY = "two_factor_pending"

TOO_MANY = "Too many wrong codes. Sign in again."
EXPIRED = "Your sign-in took too long. Sign in again."


def required_here(tenant=None) -> bool:
    """Whether the current workspace requires two-factor of all its users."""
    tenant = tenant if tenant is not None else connection.tenant
    return bool(getattr(tenant, "two_factor_required", False))


def session_ok(request) -> bool:
    """Whether this request's signed-in user may go on in this workspace (see the module)."""
    return second_factor.request_meets_policy(request, required=required_here(request.tenant))


# --- Turning it on and off --------------------------------------------------------------------


def may_disable(user) -> bool:
    return not required_here()


def disable(user, *, code: str = "", password: str = "") -> None:
    """Turn ``user``'s two-factor off, proven with a current code or their password. Refused while
    the workspace requires it. Raises ValidationError (``code``/``password``/non-field)."""
    if not may_disable(user):
        raise ValidationError(
            {"__all__": ["This workspace requires two-factor sign-in; it cannot be turned off."]}
        )
    if code:
        second_factor.verify(user, code)
    elif not (password and user.check_password(password)):
        raise ValidationError({"password": ["Enter your password or a current code."]})
    second_factor.remove_devices(user)


def set_policy(actor, required: bool) -> None:
    """Require (or stop requiring) two-factor sign-in of everyone in the current workspace: owners
    only, and an owner turns it on only with two-factor of their own (or they would be the first to
    be sent to the setup page, and could lock the workspace's owners out of changing it back)."""
    if not services.can_require_two_factor(actor):
        raise PermissionDenied("Only an owner can change the workspace's two-factor policy.")
    if required and not second_factor.has_device(actor):
        raise ValidationError({"__all__": ["Turn on two-factor sign-in for yourself first."]})
    security.set_two_factor_required(connection.tenant, required)


# --- The code step of a sign-in -----------------------------------------------------------------


@dataclass
class Pending:
    user: object
    next_url: str


def ask_for_code(request, user, next_url: str) -> HttpResponseRedirect:
    """Instead of a session: remember who gave the right password (for PENDING_SECONDS), on a new
    session key, and send them to the code step."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": str(user.public_id),
        "next": next_url,
        "until": time.time() + PENDING_SECONDS,
        "failures": 0,
    }
    return HttpResponseRedirect(reverse("accounts:sign_in_code"))


def pending(request) -> Pending | None:
    """The sign-in waiting for its code on this browser, if any and still fresh."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict) or data.get("until", 0) < time.time():
        return None
    user = get_user_model().objects.filter(public_id=data.get("user"), is_active=True).first()
    if user is None:
        return None
    return Pending(user=user, next_url=data.get("next") or "/")


def check_pending_code(request, code: str):
    """The device that accepts ``code`` for the waiting sign-in; it is then over. A wrong code
    raises ValidationError on ``code``; after PENDING_ATTEMPTS of them, or past the expiry, the
    waiting sign-in is dropped and ValidationError is raised with code ``"restart"``."""
    waiting = pending(request)
    if waiting is None:
        request.session.pop(PENDING_KEY, None)
        raise ValidationError(EXPIRED, code="restart")
    try:
        device = second_factor.verify(waiting.user, code)
    except ValidationError:
        data = request.session[PENDING_KEY]
        data["failures"] = data.get("failures", 0) + 1
        if data["failures"] >= PENDING_ATTEMPTS:
            request.session.pop(PENDING_KEY, None)
            raise ValidationError(TOO_MANY, code="restart") from None
        request.session[PENDING_KEY] = data
        raise
    request.session.pop(PENDING_KEY, None)
    return waiting, device


# --- Every page -------------------------------------------------------------------------------


def safe_next(request, url: str | None, default: str = "/") -> str:
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return default


class TwoFactorPolicyMiddleware:
    """On a workspace's host (after django-otp's OTPMiddleware): a signed-in user whose session does
    not meet the policy reaches only sign-out, the code step and the two-factor pages. With a device
    they are sent to the code step (a session started before they turned two-factor on elsewhere);
    without one, on a workspace that requires it, to the setup page. An API or GraphQL call on such a
    session gets a 403 (a token's own checks are the token exchange's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self._refusal(request) or self.get_response(request)

    def _refusal(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == get_public_schema_name():
            return None
        if not request.user.is_authenticated or _exempt(request.path):
            return None
        if session_ok(request):
            return None
        has_device = second_factor.has_device(request.user)
        message = "Two-factor sign-in is required: finish it in the browser."
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=403)
        if request.path.startswith("/graphql/"):  # in GraphQL's error format (config/api/graphql.py)
            return JsonResponse(
                {"errors": [{"message": message, "extensions": {"code": "FORBIDDEN"}}]}, status=403
            )
        if has_device:
            return HttpResponseRedirect(f"{reverse('accounts:sign_in_code')}?next={_quoted(request)}")
        return HttpResponseRedirect(reverse("two_factor:manage"))


def _quoted(request) -> str:
    return quote(request.get_full_path(), safe="/")


# The doors that sign someone in (each ends in sign_in.start_session, which asks for the code):
# a browser held by a session that must still set up or verify can still be handed to another
# account through them (an invitation, a reset or hand-off link).
_DOORS = ("/accounts/invitations/", "/accounts/handoff/", "/accounts/reset/", "/accounts/password-reset/")


def _exempt(path: str) -> bool:
    allowed = (
        *_pages("accounts:sign_out", "accounts:sign_in", "accounts:sign_in_code", "two_factor:manage"),
        settings.STATIC_URL,
        "/-/",
        *_DOORS,
    )
    return path.startswith(allowed)


def _pages(*names: str) -> list[str]:
    """The paths of these pages in the request's URLconf; none where it lacks them (a host served
    with another URLconf has no such pages to exempt, and naming them must not fail the request)."""
    paths = []
    for name in names:
        try:
            paths.append(reverse(name))
        except NoReverseMatch:
            pass
    return paths
