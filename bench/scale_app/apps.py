from django.apps import AppConfig


class ScaleAppConfig(AppConfig):
    """A tenant app that exists only under bench/settings_scale.py: the target of the bench's
    temporary AddField migrations, so no real app ever carries a bench migration."""

    name = "bench.scale_app"
    label = "scale_app"
    default_auto_field = "django.db.models.BigAutoField"
