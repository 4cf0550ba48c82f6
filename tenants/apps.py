from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self):
        # Connects the receiver that deletes an export's archive with its row (tenants.exports).
        # Connects the Celery signal receivers that time tasks, in the worker (tenants.metrics).
        from tenants import (
            exports,  # noqa: F401
            metrics,  # noqa: F401
        )
