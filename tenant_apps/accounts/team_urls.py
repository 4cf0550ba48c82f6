"""The team page (/team/ on every tenant host): tenant_apps/accounts/team_views.py."""

from django.urls import path

from tenant_apps.accounts import team_views

app_name = "team"

urlpatterns = [
    path("", team_views.team, name="team"),
    path("invite/", team_views.invite, name="invite"),
    path("users/<uuid:public_id>/role/", team_views.change_role, name="change_role"),
    path("users/<uuid:public_id>/deactivate/", team_views.deactivate, name="deactivate"),
    path("users/<uuid:public_id>/reactivate/", team_views.reactivate, name="reactivate"),
    path("invitations/<uuid:public_id>/resend/", team_views.resend_invitation, name="resend"),
    path("invitations/<uuid:public_id>/revoke/", team_views.revoke_invitation, name="revoke"),
]
