from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenant_apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # The receivers that keep the list of a user's sessions (accounts.UserSession).
        from tenant_apps.accounts import user_sessions  # noqa: F401
