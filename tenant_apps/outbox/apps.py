from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "tenant_apps.outbox"
    label = "outbox"
    verbose_name = "Outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Delivery events from the ESP's webhook update the outbox row of the tenant they name.
        from anymail.signals import tracking

        from tenant_apps.outbox import tracking as outbox_tracking

        tracking.connect(outbox_tracking.on_tracking_event, dispatch_uid="outbox_tracking_event")
