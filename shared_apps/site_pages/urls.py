"""Wagtail's page serving on the root domain, last in config/urls_public.py.

Wagtail's own ``wagtail.urls`` minus its front-end login (``_util/login/``): a second sign-in
form for the public schema's accounts would be a door around the operators' one. Pages an
operator restricts to signed-in visitors send them to /admin/login/ (WAGTAIL_FRONTEND_LOGIN_URL).
The catch-all names its group (``path``), so the URL walks of tests/security can fill it.
"""

from django.urls import path, re_path
from wagtail import views

urlpatterns = [
    path(
        "_util/authenticate_with_password/<int:page_view_restriction_id>/<int:page_id>/",
        views.authenticate_with_password,
        name="wagtailcore_authenticate_with_password",
    ),
    # Any path of slugs ending in a slash (Wagtail's WAGTAIL_APPEND_SLASH pattern), except under
    # /api/: an unknown API URL answers the API's JSON 404, and "/api" must not be redirected to a
    # page by APPEND_SLASH (tests/accounts/test_api_not_found.py).
    re_path(r"^(?!api/)(?P<path>(?:[\w\-]+/)*)$", views.serve, name="wagtail_serve"),
]
