from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "tenant_apps.outbox"
    label = "outbox"
    verbose_name = "Outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Delivery events from the ESP's webhook update the outbox row of the tenant they name.
        from anymail.signals import tracking
        from django.db.models.signals import post_save

        from tenant_apps.outbox import services
        from tenant_apps.outbox import tracking as outbox_tracking

        tracking.connect(outbox_tracking.on_tracking_event, dispatch_uid="outbox_tracking_event")
        # A reactivated tenant's emails, held while it was suspended, leave at once.
        post_save.connect(
            services.on_tenant_saved, sender="tenants.Tenant", dispatch_uid="outbox_tenant_saved"
        )
