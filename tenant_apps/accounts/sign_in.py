"""Where every door that signs a user into a workspace ends: one function, so that no door (the
sign-in form, an accepted invitation, a first or reset password, a login hand-off) can skip a step
another door enforces.

``start_session`` is the only caller of ``django.contrib.auth.login`` for tenant users, and
``finish_session`` its second half for a user with two-factor sign-in (tenant_apps/accounts/
two_factor.py): the code step calls it once the code is right.
"""

import django_otp
from django.contrib.auth import login, logout
from django.http import HttpResponseRedirect

from tenant_apps.accounts import two_factor
from tenants import second_factor

BACKEND = "django.contrib.auth.backends.ModelBackend"


def start_session(request, user, next_url: str) -> HttpResponseRedirect:
    """Sign ``user`` in on this request and send them on to ``next_url`` (a path on this host,
    already checked by the caller). Whoever was signed in on this browser before is signed out
    first, and the session key is new (no fixation through a planted cookie)."""
    if request.user.is_authenticated:
        logout(request)
    if second_factor.has_device(user):
        # No session yet: the code step (two_factor.check_pending_code) calls finish_session.
        return two_factor.ask_for_code(request, user, next_url)
    login(request, user, backend=BACKEND)
    request.session.cycle_key()
    return HttpResponseRedirect(next_url)


def finish_session(request, user, device, next_url: str) -> HttpResponseRedirect:
    """Sign ``user`` in once ``device`` (theirs) verified a code: the session is a verified one
    (django-otp's OTPMiddleware reads the device back on each request)."""
    if request.user.is_authenticated and request.user.pk != user.pk:
        logout(request)
    login(request, user, backend=BACKEND)
    request.session.cycle_key()
    django_otp.login(request, device)
    return HttpResponseRedirect(next_url)
