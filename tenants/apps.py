from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self):
        # Connects receivers: the one that deletes an export's archive with its row
        # (tenants.exports), and the Celery signal ones that time tasks in the worker (tenants.metrics).
        from tenants import (
            contenttype_cache,
            exports,  # noqa: F401
            metrics,  # noqa: F401
        )

        # One ContentType cache per schema: their ids differ between schemas (tenants/contenttype_cache.py).
        contenttype_cache.install()
