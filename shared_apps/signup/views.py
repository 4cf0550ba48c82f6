"""Signup pages of the root domain: the form, and the slug availability check it calls."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from shared_apps.signup import services, throttle
from shared_apps.signup.forms import SignupForm

TOO_MANY = "Too many signup attempts from your network. Try again in {minutes} minutes."


def _require_enabled() -> None:
    # Read per request (not only when the URLconf is built): an operator-only platform, or a test
    # that turns signup off, gets a 404 whatever the URLconf was built with.
    if not settings.SIGNUP_ENABLED:
        raise Http404("Signup is not available on this platform.")


def _form_page(request, form, status=200):
    return render(
        request, "signup/signup.html", {"form": form, "base_domain": settings.BASE_DOMAIN}, status=status
    )


@sensitive_post_parameters("password")
@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    """GET shows the form; POST creates the workspace and sends the owner, signed in, to it.
    Refused input re-renders the form with its errors next to the fields, with status 400."""
    _require_enabled()
    if request.method != "POST":
        return _form_page(request, SignupForm())
    limited = throttle.hit(request, "signup", settings.SIGNUP_RATE)
    if limited is not None:
        response = render(
            request,
            "signup/throttled.html",
            {"message": TOO_MANY.format(minutes=max(1, -(-limited.retry_after // 60)))},
            status=429,
        )
        response["Retry-After"] = str(limited.retry_after)
        return response
    form = SignupForm(request.POST)
    if form.is_valid():
        try:
            provisioned = services.sign_up(**form.cleaned_data)
        except ValidationError as exc:  # a slug another signup took since the form's check
            form.add_provisioning_errors(exc)
        else:
            return HttpResponseRedirect(services.owner_handoff_url(provisioned))
    return _form_page(request, form, status=400)


@never_cache
@require_GET
def check_slug(request):
    """``{"slug", "available", "message"}`` for ``?slug=``, as the form's script asks while the
    visitor types. Advisory: the signup itself checks again, in its transaction."""
    _require_enabled()
    limited = throttle.hit(request, "check-slug", settings.SIGNUP_CHECK_RATE)
    if limited is not None:
        response = JsonResponse({"detail": "Too many availability checks. Try again shortly."}, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    slug = services.normalize_slug(request.GET.get("slug", ""))
    available, message = services.slug_availability(slug)
    return JsonResponse({"slug": slug[:100], "available": available, "message": message})
