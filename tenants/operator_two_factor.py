"""Operators' second factor on the root domain: the global admin and the operator API's tokens.

With OPERATOR_TWO_FACTOR_REQUIRED (on by default in production), an operator who signed in with
their password reaches nothing of the global admin but /admin/two-factor/: there an operator
without an authenticator sets one up (QR code, secret and recovery codes shown once), one with an
authenticator gives its code. An operator with an authenticator gives its code even when the
setting is off. ``PlatformAdminSite.has_permission`` asks ``session_ok`` too, so no admin view is
reachable around this middleware; the operator token exchange asks for ``code`` by the same rule
(tenant_apps/accounts/services.py ``sign_in_for_token``).

The mechanics are ``tenants.second_factor``'s (django-otp, whose tables are in the public schema
too); this module imports no app, as the tenancy core never does.
"""

from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_tenants.utils import get_public_schema_name

from tenants import second_factor
from tenants.services import can_operate_platform

PAGE = "/admin/two-factor/"


def required() -> bool:
    return settings.OPERATOR_TWO_FACTOR_REQUIRED


def session_ok(request) -> bool:
    """Whether this operator's session may use the global admin (see the module)."""
    return second_factor.request_meets_policy(request, required=required())


class OperatorTwoFactorMiddleware:
    """On the root domain: an operator whose session does not meet the policy is sent to the
    two-factor page from every admin page (an API call on such a session gets a 403)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self._refusal(request) or self.get_response(request)

    def _refusal(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name != get_public_schema_name():
            return None
        path = request.path
        if not path.startswith(("/admin/", "/api/")) or path.startswith((PAGE, "/admin/logout/")):
            return None
        if not can_operate_platform(request.user) or session_ok(request):
            return None
        if path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Two-factor sign-in is required: finish it in the admin."}, status=403
            )
        return HttpResponseRedirect(f"{PAGE}?{_next_query(request)}")


def _next_query(request) -> str:
    return urlencode({"next": request.get_full_path()})


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=second_factor.CODE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


def _next(request) -> str:
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return reverse("admin:index")


def _errors_into(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
def page(request):
    """/admin/two-factor/: set up an authenticator, or give its code (see the module)."""
    user = request.user
    if not can_operate_platform(user):
        return HttpResponseRedirect(f"{reverse('admin:login')}?next={PAGE}")
    if second_factor.is_verified(user):
        return HttpResponseRedirect(_next(request))
    context = {**admin.site.each_context(request), "title": "Two-factor sign-in", "next": _next(request)}
    form = CodeForm(request.POST if request.POST.get("action") in ("verify", "confirm") else None)
    status = 200
    if second_factor.has_device(user):
        if request.method == "POST" and form.is_valid():
            try:
                device = second_factor.verify(user, form.cleaned_data["code"])
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                request.session.cycle_key()
                django_otp.login(request, device)
                return HttpResponseRedirect(_next(request))
        status = 400 if request.method == "POST" else 200
        return render(request, "admin/two_factor/verify.html", {**context, "form": form}, status=status)

    if request.method == "POST" and request.POST.get("action") == "start":
        device = second_factor.start_enrollment(user)
        uri = second_factor.otpauth_uri(device, f"{settings.BASE_DOMAIN} operators", user.email)
        context.update(secret=second_factor.secret_of(device), qr_svg=second_factor.qr_svg(uri))
    elif request.method == "POST" and request.POST.get("action") == "confirm":
        device = second_factor.authenticator(user, confirmed=False)
        if device is not None and form.is_valid():
            try:
                codes = second_factor.confirm_enrollment(device, form.cleaned_data["code"])
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                request.session.cycle_key()
                django_otp.login(request, device)
                return render(request, "admin/two_factor/recovery_codes.html", {**context, "codes": codes})
        status = 400
        context["enrolling"] = device is not None
    return render(request, "admin/two_factor/setup.html", {**context, "form": form}, status=status)
