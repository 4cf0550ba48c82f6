"""The signed-in user's profile (/account/ on every tenant host): tenant_apps/accounts/profile_views.py."""

from django.urls import path

from tenant_apps.accounts import profile_views

app_name = "profile"

urlpatterns = [
    path("", profile_views.profile, name="profile"),
    path("sessions/<uuid:public_id>/revoke/", profile_views.revoke_session, name="revoke_session"),
    path("sessions/revoke-others/", profile_views.revoke_other_sessions, name="revoke_other_sessions"),
    path("tokens/<str:prefix>/revoke/", profile_views.revoke_token, name="revoke_token"),
    path("tokens/revoke-all/", profile_views.revoke_all_tokens, name="revoke_all_tokens"),
]
