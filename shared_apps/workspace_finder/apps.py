from django.apps import AppConfig


class WorkspaceFinderConfig(AppConfig):
    """The root domain's home: what the platform is, sign in to a workspace by its address, and
    "find my workspace": the workspaces an email address belongs to, sent to that address."""

    name = "shared_apps.workspace_finder"
    label = "workspace_finder"
    verbose_name = "Workspace finder"
