"""A user's second factor, whatever schema they live in: an authenticator app (TOTP) and ten
single-use recovery codes, kept by django-otp's ``otp_totp`` and ``otp_static`` devices.

This module is the mechanics only (enroll, confirm, verify with throttling, recovery codes, the QR
code); who must have a second factor is decided elsewhere: a workspace's rules in
``tenant_apps.accounts.two_factor``, the operators' in ``tenants.operator_two_factor``. It lives in
the tenancy core because the operators' side needs it and the core imports no app.

Every query runs in the current schema: a device of globex's user is a row of globex's schema and
means nothing on acme (django-otp's tables are in SHARED_APPS and TENANT_APPS both).
"""

import base64
from urllib.parse import quote, urlencode

import segno
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"
# The longest thing a person may type: a recovery code with spaces or dashes in it.
CODE_MAX_LENGTH = 32

WRONG_CODE = "This code is not valid: give the current code of your authenticator app, or a recovery code."
THROTTLED = "Too many wrong codes. Wait {seconds} seconds, then try again."


def authenticator(user, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def has_device(user) -> bool:
    """Whether ``user`` has a confirmed authenticator: then every sign-in asks for a code."""
    return bool(
        user is not None
        and getattr(user, "pk", None)
        and TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    )


def is_verified(user) -> bool:
    """Whether this request's session was verified with a second factor (django-otp's OTPMiddleware
    puts ``is_verified`` on ``request.user``)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def start_enrollment(user) -> TOTPDevice:
    """A new, unconfirmed authenticator for ``user`` (any earlier unconfirmed one is dropped: its
    secret was shown and never confirmed). It counts for nothing until ``confirm_enrollment``."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def secret_of(device: TOTPDevice) -> str:
    """The key as authenticator apps take it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(device: TOTPDevice, issuer: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (Google's Key Uri Format)."""
    issuer = issuer.replace(":", "")
    label = quote(f"{issuer}:{account}")
    params = {
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
        "issuer": issuer,
        "algorithm": "SHA1",
        "digits": device.digits,
        "period": device.step,
    }
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline <svg> element: no image request, nothing cached."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, border=2, title="QR code for your authenticator app"
    )


def _clean(code) -> str:
    return "".join(str(code or "").split()).replace("-", "").lower()


def _throttled(device) -> ValidationError | None:
    allowed, data = device.verify_is_allowed()
    if allowed:
        return None
    seconds = 1
    locked_until = (data or {}).get("locked_until")
    if locked_until is not None:
        seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
    return ValidationError({"code": [THROTTLED.format(seconds=seconds)]}, code="throttled")


def confirm_enrollment(device: TOTPDevice, code: str) -> list[str]:
    """Confirm ``device`` with a code from the app; returns the user's new recovery codes (to show
    once). Raises ValidationError on ``code``."""
    # A refusal is raised after the transaction: the failure count django-otp saved must stay.
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        error = _throttled(device)
        if error is None and not device.verify_token(_clean(code)):
            error = ValidationError({"code": [WRONG_CODE]}, code="wrong")
        if error is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            # One confirmed authenticator per user: a new enrollment replaces the old one.
            TOTPDevice.objects.filter(user=device.user_id, confirmed=True).exclude(pk=device.pk).delete()
            codes = replace_recovery_codes(device.user)
    if error is not None:
        raise error
    return codes


def replace_recovery_codes(user) -> list[str]:
    """New recovery codes for ``user``, the old ones dropped. Returned once, formatted ``abcd-efgh``;
    the database keeps them as django-otp's static tokens (each deleted when used)."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY, defaults={"confirmed": True})
        device.token_set.all().delete()
        tokens = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=token) for token in tokens)
    return [f"{token[:4]}-{token[4:]}" for token in tokens]


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user, code: str):
    """The device of ``user`` that accepts ``code`` (a code of the authenticator app, or one of the
    recovery codes, which is then used up). A code the app showed is accepted once (django-otp keeps
    the last time step used). Wrong codes are throttled per device by django-otp: after each
    failure the next try must wait twice as long (1, 2, 4, ... seconds), even with a right code.
    Raises ValidationError on ``code``."""
    code = _clean(code)
    # The app's codes are 6 digits; recovery codes 8 base32 characters (rarely all digits).
    model = TOTPDevice if code.isdigit() and len(code) <= 6 else StaticDevice
    # A refusal is raised after the transaction: the failure count django-otp saved must stay.
    with transaction.atomic():
        # Locked: two concurrent tries cannot both pass the throttle.
        device = model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
        if device is None or not code:
            error = ValidationError({"code": [WRONG_CODE]}, code="wrong")
        elif (error := _throttled(device)) is None and not device.verify_token(code):
            error = ValidationError({"code": [WRONG_CODE]}, code="wrong")
    if error is not None:
        raise error
    return device


def remove_devices(user) -> None:
    """Turn two-factor off for ``user``: their authenticator and recovery codes are deleted."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


def session_meets_policy(user, *, required: bool) -> bool:
    """Whether a signed-in ``user``'s session may go on: verified with a second factor, or neither
    required (``required``: the workspace's or the operators' policy) nor possible (no device).
    A user with a device always gives a code, on every door: the device is theirs to trust."""
    if is_verified(user):
        return True
    return not required and not has_device(user)


def request_meets_policy(request, *, required: bool) -> bool:
    """``session_meets_policy`` for ``request.user``, asked once per request: the admin sites ask
    it in ``has_permission``, which Django calls several times for one page."""
    memo = request.__dict__.setdefault("_second_factor_ok", {})
    key = (getattr(request.user, "pk", None), required)
    if key not in memo:
        memo[key] = session_meets_policy(request.user, required=required)
    return memo[key]


SET_UP_FIRST = "Two-factor sign-in is required here: set up an authenticator app on the website first."
CODE_NEEDED = "Enter the current code of your authenticator app, or a recovery code."


def check_token_code(user, code: str | None, *, required: bool) -> None:
    """The second step of an API token exchange, once the password was right: nothing to check when
    ``user`` has no device and none is ``required``; otherwise ``code`` must verify. Raises
    ValidationError on ``code``."""
    if not has_device(user):
        if required:
            raise ValidationError({"code": [SET_UP_FIRST]}, code="setup")
        return
    if not code:
        raise ValidationError({"code": [CODE_NEEDED]}, code="required")
    verify(user, code)
