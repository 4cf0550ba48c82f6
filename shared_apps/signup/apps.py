from django.apps import AppConfig


class SignupConfig(AppConfig):
    """Self-service signup on the root domain: a visitor provisions a tenant and becomes its owner."""

    name = "shared_apps.signup"
    label = "signup"
    verbose_name = "Signup"
