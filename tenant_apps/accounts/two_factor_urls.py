"""/account/two-factor/: a user's own two-factor sign-in, and the owner's workspace policy."""

from django.urls import path

from tenant_apps.accounts import two_factor_views as views

app_name = "two_factor"

urlpatterns = [
    path("", views.manage, name="manage"),
    path("enable/", views.enable, name="enable"),
    path("confirm/", views.confirm, name="confirm"),
    path("disable/", views.disable, name="disable"),
    path("recovery-codes/", views.regenerate, name="regenerate"),
    path("policy/", views.policy, name="policy"),
]
