from django.urls import path

from shared_apps.signup import views

app_name = "signup"

urlpatterns = [
    path("", views.signup, name="signup"),
    path("check-slug/", views.check_slug, name="check_slug"),
]
