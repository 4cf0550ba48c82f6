"""Celery task of the workspace finder: it runs in the public schema, where the request was."""

from config.celery import app
from shared_apps.workspace_finder import services


@app.task(name=services.SEND_TASK, ignore_result=True)
def send_workspace_list(email: str) -> int:
    """Email ``email`` its workspaces, if it has any (``services.send_workspace_list``)."""
    return services.send_workspace_list(email)
