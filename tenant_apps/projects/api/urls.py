from django.urls import path
from rest_framework.routers import SimpleRouter

from tenant_apps.projects.api import views

router = SimpleRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = [
    *router.urls,
    path(
        "tasks/<uuid:task_public_id>/comments/",
        views.TaskCommentViewSet.as_view({"get": "list", "post": "create"}),
        name="task-comments",
    ),
]
