"""Wagtail's admin at /cms/ on the root domain, for operators only.

Every view of it (the login and password-reset pages too) is wrapped by ``operators_only``: the
same rule as the global admin's (``tenants.services.can_operate_platform`` and the operators'
second factor, ``tenants.operator_two_factor.session_ok``), so Wagtail's own login form, which
would let in any public user with Wagtail's ``access_admin`` permission, is no side door. An
operator signs in at /admin/login/ and gives the second factor at /admin/two-factor/, then comes
back. The tenant URLconf does not include these URLs: a tenant host answers 404.
"""

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import include, path, reverse
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.utils.urlpatterns import decorate_urlpatterns

from tenants import operator_two_factor
from tenants.services import can_operate_platform


def operators_only(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('admin:login')}?{query}")
        if not can_operate_platform(user):
            raise PermissionDenied("Operators only.")
        if not operator_two_factor.session_ok(request):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{operator_two_factor.PAGE}?{query}")
        return view(request, *args, **kwargs)

    return guarded


@operators_only
def sign_in(request):
    """/cms/login/ in place of Wagtail's login form: past the guard (which sends everyone else to
    the operators' sign-in), an operator is signed in already; its ``next`` is not followed
    (Wagtail's view would reverse any string given there)."""
    return HttpResponseRedirect(reverse("wagtailadmin_home"))


_guarded = False


def cms_urls():
    """Wagtail's admin URLs, every view guarded; for ``path("cms/", cms_urls())``. The patterns are
    Wagtail's module's own list, decorated in place once (a reloaded URLconf does not wrap twice)."""
    global _guarded
    if not _guarded:
        decorate_urlpatterns(wagtailadmin_urls.urlpatterns, operators_only)
        _guarded = True
    # Ours first: its name is Wagtail's, so Wagtail's own redirects to its login come here too.
    return include([path("login/", sign_in, name="wagtailadmin_login"), *wagtailadmin_urls.urlpatterns])


def without_cms_endpoints(endpoints):
    """drf-spectacular preprocessing hook: the operator API's schema leaves out Wagtail's admin
    API (/cms/api/), which is the editor's, not an API of the platform."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith("/cms/")]
