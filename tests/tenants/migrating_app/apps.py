from django.apps import AppConfig


class MigratingTestConfig(AppConfig):
    name = "tests.tenants.migrating_app"
    label = "migratingtest"
    default_auto_field = "django.db.models.BigAutoField"
