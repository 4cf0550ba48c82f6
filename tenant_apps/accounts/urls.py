from django.urls import path

from tenant_apps.accounts import two_factor_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign_in"),
    path("sign-in/code/", two_factor_views.code_step, name="sign_in_code"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/changed/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetSentView.as_view(), name="password_reset_sent"),
    path("invitations/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("handoff/<str:token>/", views.login_handoff, name="handoff"),
]
