from django.apps import AppConfig


class OperatorApiConfig(AppConfig):
    name = "shared_apps.operator_api"
    label = "operator_api"
    verbose_name = "Operator API"
