"""URLs of the root domain (BASE_DOMAIN): the operator's side, in the public schema."""

from django.contrib import admin
from django.urls import path

from tenants import views

admin.site.site_header = "Platform operator"
admin.site.site_title = "Platform operator"
admin.site.index_title = "Tenants and operators"

urlpatterns = [
    path("", views.platform_home, name="home"),
    path("-/health/", views.health, name="health"),
    path("admin/", admin.site.urls),
]
