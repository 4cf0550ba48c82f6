"""The two forms of the root domain's home (services.py says what each answers, and why)."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.site_pages.rendering import render_home
from shared_apps.workspace_finder import services
from shared_apps.workspace_finder.forms import FindWorkspaceForm, WorkspaceAddressForm
from tenants.request_guards import client_address


def _home(request, *, address_form=None, find_form=None, status=200):
    # The home is the root site's Wagtail page (shared_apps/site_pages); a form's errors come back
    # to it, in place of its empty form.
    return render_home(request, address_form=address_form, find_form=find_form, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
def go_to_workspace(request):
    """``?slug=acme``: a redirect to that workspace's sign-in page, or the home with the field's
    error (400); without ``slug``, the home. A GET form: it changes nothing, and the address is
    the visitor's to bookmark."""
    if "slug" not in request.GET:
        return _home(request)
    form = WorkspaceAddressForm(request.GET)
    if not form.is_valid():
        return _home(request, address_form=form, status=400)
    return HttpResponseRedirect(services.workspace_sign_in_url(form.cleaned_data["tenant"]))


@never_cache
@csrf_protect
@require_POST
def find_workspace(request):
    """POST ``email``: "check your inbox", the same page whatever the address belongs to (nothing
    is looked up here); a malformed address is the home with the field's error (400)."""
    form = FindWorkspaceForm(request.POST)
    if not form.is_valid():
        return _home(request, find_form=form, status=400)
    services.request_workspace_list(form.cleaned_data["email"], client_address(request))
    return render(request, "workspace_finder/sent.html", {"email": form.cleaned_data["email"]})
