"""The projects API: /api/v1/projects/, /api/v1/tasks/, /api/v1/tasks/{id}/comments/.

Reads filter with query parameters (?status=, ?assignee=me|none|<uuid>, ?due=overdue|today|week|none,
?project=<uuid>, ?archived=true, ?search=) and order with ?ordering=. Writes go through
tenant_apps.projects.services, which own the rules and the notification emails; what they raise
(ValidationError keyed by field, PermissionDenied) is mapped by the platform's exception handler,
in the one error format of every API. The permission classes wrap the services' ``can_*``
predicates.
"""

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tenant_apps.projects import services
from tenant_apps.projects.api.serializers import (
    ArchiveSerializer,
    CommentSerializer,
    ProjectSerializer,
    TaskSerializer,
)
from tenant_apps.projects.models import Project, Task


class IsWorkspaceMember(permissions.BasePermission):
    """Signed in with a role in this workspace."""

    def has_permission(self, request, view):
        return services.can_use_workspace(request.user)


class ObjectRules(IsWorkspaceMember):
    """A workspace member, and for an object, the services' predicate of the view's action."""

    rules: dict = {}

    def has_object_permission(self, request, view, obj):
        rule = self.rules.get(view.action)
        return rule is None or rule(request.user, obj)


class ProjectRules(ObjectRules):
    rules = {
        "update": services.can_edit_project,
        "partial_update": services.can_edit_project,
        "archive": services.can_archive_project,
        "destroy": services.can_delete_project,
    }


class TaskRules(ObjectRules):
    rules = {
        "update": services.can_edit_task,
        "partial_update": services.can_edit_task,
        "destroy": services.can_delete_task,
    }


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("archived", bool, description="archived projects instead of active ones")
        ]
    )
)
class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    permission_classes = [ProjectRules]
    lookup_field = "public_id"
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name"]

    def get_queryset(self):
        queryset = Project.objects.select_related("created_by")
        if self.action == "list":
            queryset = queryset.filter(archived=self.request.query_params.get("archived") in ("true", "1"))
        return queryset

    def perform_create(self, serializer):
        serializer.instance = services.create_project(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        services.update_project(self.request.user, serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_project(self.request.user, instance)

    @extend_schema(request=ArchiveSerializer, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, public_id=None):
        """Archive (``{"archived": true}``) or restore a project. Owners and admins only."""
        project = self.get_object()
        data = ArchiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.set_archived(request.user, project, data.validated_data["archived"])
        return Response(ProjectSerializer(project).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("project", str, description="a project's id"),
            OpenApiParameter("status", str, enum=Task.Status.values),
            OpenApiParameter("assignee", str, description="`me`, `none` or a user's id"),
            OpenApiParameter("due", str, enum=["overdue", "today", "week", "none"]),
        ]
    )
)
class TaskViewSet(viewsets.ModelViewSet):
    serializer_class = TaskSerializer
    permission_classes = [TaskRules]
    lookup_field = "public_id"
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["title", "description"]
    ordering_fields = ["due_date", "priority", "created_at", "updated_at", "status", "title"]

    def get_queryset(self):
        queryset = Task.objects.select_related("project", "assignee", "created_by")
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if params.get("project"):
            queryset = queryset.filter(project__public_id=_uuid(params["project"], "project"))
        status_value = params.get("status", "")
        if status_value and status_value not in Task.Status.values:
            raise ValidationError({"status": [f"Choose one of {', '.join(Task.Status.values)}."]})
        due = params.get("due", "")
        if due and due not in ("overdue", "today", "week", "none"):
            raise ValidationError({"due": ["Choose one of overdue, today, week, none."]})
        assignee = params.get("assignee", "")
        if assignee not in ("", "me", "none"):
            _uuid(assignee, "assignee")
        return services.filter_tasks(
            queryset, user=self.request.user, status=status_value, assignee=assignee, due=due
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        project = data.pop("project")
        serializer.instance = services.create_task(self.request.user, project, **data)

    def perform_update(self, serializer):
        # The serializer has not touched the instance: the service compares against stored values.
        services.update_task(self.request.user, serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_task(self.request.user, instance)


def _uuid(value, field):
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError({field: ["Must be a valid id (UUID)."]}) from None


class TaskCommentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Comments of one task, oldest first. Posting notifies the assignee and the task's creator."""

    serializer_class = CommentSerializer
    permission_classes = [IsWorkspaceMember]

    def get_task(self):
        return get_object_or_404(Task, public_id=self.kwargs["task_public_id"])

    def get_queryset(self):
        return self.get_task().comments.select_related("author")

    def create(self, request, *args, **kwargs):
        task = self.get_task()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.add_comment(request.user, task, serializer.validated_data["body"])
        return Response(self.get_serializer(comment).data, status=status.HTTP_201_CREATED)
