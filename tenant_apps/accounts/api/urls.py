from django.urls import path

from tenant_apps.accounts.api import views

app_name = "api"

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("auth/token/revoke-all/", views.RevokeAllTokensView.as_view(), name="token_revoke_all"),
    path("me/", views.MeView.as_view(), name="me"),
    path("users/", views.UserListView.as_view(), name="users"),
    path("users/<uuid:public_id>/", views.UserDetailView.as_view(), name="user"),
    path("users/<uuid:public_id>/reactivate/", views.UserReactivateView.as_view(), name="user_reactivate"),
    path("invitations/", views.InvitationListView.as_view(), name="invitations"),
    path("invitations/<uuid:public_id>/", views.InvitationDetailView.as_view(), name="invitation"),
    path(
        "invitations/<uuid:public_id>/resend/", views.InvitationResendView.as_view(), name="invitation_resend"
    ),
]
