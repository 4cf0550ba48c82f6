"""The two-factor pages of a workspace: /account/two-factor/ (turn it on and off, recovery codes,
the owner's policy) and the code step of a sign-in (/accounts/sign-in/code/). The rules are in
``two_factor`` and ``tenants.second_factor``.

The secret, its QR code and the recovery codes appear only in the answer to the POST that made
them (never on a page a GET can show again), and every page here is ``never_cache``.
"""

import django_otp
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from tenant_apps.accounts import services, sign_in, two_factor
from tenants import second_factor


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=second_factor.CODE_MAX_LENGTH,
        label="Code",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


class SetupCodeForm(CodeForm):
    """The code that turns two-factor sign-in on: from the app only, no recovery code yet."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = "Code from the app"
        self.fields["code"].help_text = ""


class DisableForm(forms.Form):
    code = forms.CharField(max_length=second_factor.CODE_MAX_LENGTH, required=False, label="Current code")
    password = forms.CharField(
        max_length=4096, required=False, strip=False, widget=forms.PasswordInput, label="Or your password"
    )


class PolicyForm(forms.Form):
    required = forms.BooleanField(required=False)


def _errors_into(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _manage_context(request, **extra):
    user = request.user
    device = second_factor.authenticator(user)
    return {
        "enabled": device is not None,
        "required": two_factor.required_here(request.tenant),
        "may_disable": two_factor.may_disable(user),
        "codes_left": second_factor.recovery_codes_left(user) if device else 0,
        "may_set_policy": services.can_require_two_factor(user),
        "disable_form": DisableForm(),
        **extra,
    }


@never_cache
@login_required
def manage(request):
    return render(request, "accounts/two_factor/manage.html", _manage_context(request))


def _setup_page(request, device, form, status=200):
    context = {"form": form, "device_id": device.pk}
    if status == 200:  # the secret only on the answer that created it
        uri = second_factor.otpauth_uri(device, request.tenant.name, request.user.email)
        context.update(secret=second_factor.secret_of(device), qr_svg=second_factor.qr_svg(uri))
    return render(request, "accounts/two_factor/setup.html", context, status=status)


@never_cache
@login_required
@require_POST
@csrf_protect
def enable(request):
    """A new authenticator: its QR code and secret, shown in this answer only."""
    if second_factor.has_device(request.user):
        messages.info(request, "Two-factor sign-in is already on.")
        return redirect("two_factor:manage")
    device = second_factor.start_enrollment(request.user)
    return _setup_page(request, device, SetupCodeForm())


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_POST
@csrf_protect
def confirm(request):
    """The first code from the app turns two-factor on; the answer shows the recovery codes once."""
    device = second_factor.authenticator(request.user, confirmed=False)
    if device is None:
        messages.info(request, "Start again: the setup was replaced or finished.")
        return redirect("two_factor:manage")
    form = SetupCodeForm(request.POST)
    if form.is_valid():
        try:
            codes = second_factor.confirm_enrollment(device, form.cleaned_data["code"])
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            # This session proved the device: it stays signed in, now verified.
            request.session.cycle_key()
            django_otp.login(request, device)
            return render(request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "new": True})
    return _setup_page(request, device, form, status=400)


@sensitive_post_parameters("code", "password")
@never_cache
@login_required
@require_POST
@csrf_protect
def disable(request):
    form = DisableForm(request.POST)
    if form.is_valid():
        try:
            two_factor.disable(
                request.user, code=form.cleaned_data["code"], password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("two_factor:manage")
    return render(
        request, "accounts/two_factor/manage.html", _manage_context(request, disable_form=form), status=400
    )


@never_cache
@login_required
@require_POST
@csrf_protect
def regenerate(request):
    """New recovery codes (the old ones stop working), shown in this answer only."""
    if not second_factor.has_device(request.user):
        return redirect("two_factor:manage")
    codes = second_factor.replace_recovery_codes(request.user)
    return render(request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "new": False})


@never_cache
@login_required
@require_POST
@csrf_protect
def policy(request):
    """An owner requires (or stops requiring) two-factor of everyone in the workspace."""
    if not services.can_require_two_factor(request.user):
        raise PermissionDenied
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            two_factor.set_policy(request.user, form.cleaned_data["required"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, "accounts/two_factor/manage.html", _manage_context(request), status=400)
        request.tenant.two_factor_required = form.cleaned_data["required"]
        messages.success(
            request,
            "Everyone must now use two-factor sign-in."
            if form.cleaned_data["required"]
            else "Two-factor sign-in is now optional.",
        )
    return redirect("two_factor:manage")


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
def code_step(request):
    """The second step of a sign-in (``two_factor.ask_for_code``), or of a signed-in session that
    must still give its code (sent here by ``TwoFactorPolicyMiddleware``)."""
    waiting = two_factor.pending(request)
    signed_in = request.user.is_authenticated and second_factor.has_device(request.user)
    if waiting is None and not signed_in:
        messages.info(
            request, two_factor.EXPIRED if two_factor.PENDING_KEY in request.session else "Sign in first."
        )
        return redirect("accounts:sign_in")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if waiting is not None:
                waiting, device = two_factor.check_pending_code(request, code)
                return sign_in.finish_session(request, waiting.user, device, waiting.next_url)
            device = second_factor.verify(request.user, code)
            next_url = two_factor.safe_next(request, request.GET.get("next"))
            return sign_in.finish_session(request, request.user, device, next_url)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "restart":
                messages.error(request, exc.message)
                return redirect("accounts:sign_in")
            _errors_into(form, exc)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/two_factor/code.html", {"form": form}, status=status)
