"""GraphQL of projects, tasks and comments (``/graphql/``; the schema is composed in config/graphql_urls.py).

The same contract as the REST API of this package: input is checked by the REST serializers
(the same field errors), every write calls the service the REST views call (the same rules and
notification emails), and reading needs a role in the workspace (``can_use_workspace``). An id of
another tenant, or of nothing, is NOT_FOUND, as REST's 404. Lists are Relay connections
(``first``/``after``, at most 100 a page); the optimizer extension joins and prefetches what a
query selects, so a page of tasks with their project, assignee and comment count costs a fixed
number of queries.
"""

import datetime
import uuid
from collections.abc import Iterable
from enum import Enum

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from strawberry.types import Info

from config.api.graphql import Page, check_text
from tenant_apps.projects import services
from tenant_apps.projects.api.serializers import (
    ArchiveSerializer,
    CommentSerializer,
    ProjectSerializer,
    TaskSerializer,
)
from tenant_apps.projects.models import Comment, Project, Task

# --- Types ---------------------------------------------------------------------------------------


@strawberry.enum(name="TaskStatus")
class TaskStatus(Enum):
    TODO = "todo"
    DOING = "doing"
    DONE = "done"


@strawberry.enum(name="DueFilter")
class DueFilter(Enum):
    OVERDUE = "overdue"
    TODAY = "today"
    WEEK = "week"
    NONE = "none"


@strawberry_django.type(get_user_model(), name="Person")
class PersonType:
    """Someone named on a project, task or comment (the REST API's ``{id, email, name}``)."""

    id: uuid.UUID = strawberry_django.field(field_name="public_id")
    email: str

    @strawberry_django.field(only=["full_name", "email"])
    def name(self) -> str:
        return self.get_full_name()


@strawberry_django.type(Project, name="Project")
class ProjectType:
    id: uuid.UUID = strawberry_django.field(field_name="public_id")
    name: str
    description: str
    archived: bool
    archived_at: datetime.datetime | None
    created_by: PersonType | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


@strawberry_django.type(Comment, name="Comment")
class CommentType:
    id: uuid.UUID = strawberry_django.field(field_name="public_id")
    author: PersonType | None
    body: str
    created_at: datetime.datetime


@strawberry_django.type(Task, name="Task")
class TaskType:
    id: uuid.UUID = strawberry_django.field(field_name="public_id")
    project: ProjectType
    title: str
    description: str
    priority: int = strawberry_django.field(description="1 low, 2 normal, 3 high, 4 urgent")
    assignee: PersonType | None
    due_date: datetime.date | None
    created_by: PersonType | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    comments: Page[CommentType] = strawberry_django.connection(
        description="Oldest first, as on the task's page."
    )

    @strawberry_django.field(annotate={"comment_total": Count("comments")})
    def comment_count(self) -> int:
        """Counted in the list's own query (the optimizer's annotation); a task read on its own, or
        returned by a mutation, counts with one query."""
        total = getattr(self, "comment_total", None)
        return total if total is not None else self.comments.count()

    @strawberry_django.field(only=["status"])
    def status(self) -> TaskStatus:
        return TaskStatus(self.status)

    @strawberry_django.field(only=["due_date", "status"])
    def is_overdue(self) -> bool:
        return self.is_overdue


@strawberry.type
class Deleted:
    id: uuid.UUID


# --- Inputs --------------------------------------------------------------------------------------
# UNSET (left out) and null differ: an update changes only the fields it names, as REST's PATCH.


@strawberry.input
class ProjectInput:
    name: str
    description: str = ""


@strawberry.input
class ProjectChanges:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class TaskInput:
    project: uuid.UUID
    title: str
    description: str = ""
    status: TaskStatus = TaskStatus.TODO
    priority: int = Task.Priority.NORMAL
    assignee: uuid.UUID | None = None
    due_date: datetime.date | None = None


@strawberry.input
class TaskChanges:
    project: uuid.UUID | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    status: TaskStatus | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    assignee: uuid.UUID | None = strawberry.UNSET
    due_date: datetime.date | None = strawberry.UNSET


def _given(data) -> dict:
    """An input's fields that were sent, as the REST serializers read them (ids and enums as text)."""
    given = {}
    for name, value in vars(data).items():
        if value is strawberry.UNSET:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, (uuid.UUID, datetime.date)):
            value = str(value) if isinstance(value, uuid.UUID) else value.isoformat()
        given[name] = value
    return given


def _validated(serializer) -> dict:
    """The serializer's validated data, or its field errors raised (BAD_USER_INPUT, REST's 400 body)."""
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Who asks --------------------------------------------------------------------------------------


def _member(info: Info):
    """The signed-in user, who must hold a role here (REST's IsWorkspaceMember): FORBIDDEN otherwise."""
    user = info.context.request.user
    services.require(services.can_use_workspace(user))
    return user


def _project(public_id: uuid.UUID) -> Project:
    return Project.objects.get(public_id=public_id)


def _task(public_id: uuid.UUID) -> Task:
    return Task.objects.select_related("project", "assignee", "created_by").get(public_id=public_id)


# --- Queries -------------------------------------------------------------------------------------


@strawberry.type
class ProjectsQuery:
    @strawberry_django.connection(Page[ProjectType], description="Projects, by name.")
    def projects(
        self, info: Info, archived: bool = False, search: str | None = None
    ) -> Iterable[ProjectType]:
        _member(info)
        projects = Project.objects.filter(archived=archived)
        if check_text("search", search):
            projects = projects.filter(Q(name__icontains=search) | Q(description__icontains=search))
        return projects.order_by("name", "pk")

    @strawberry_django.field
    def project(self, info: Info, id: uuid.UUID) -> ProjectType | None:
        _member(info)
        return _project(id)

    @strawberry_django.connection(
        Page[TaskType],
        description="Tasks, open work first (the pages' order). Filters as REST's ?project=, "
        "?status=, ?assignee=me|none|<id>, ?due=, ?search=.",
    )
    def tasks(
        self,
        info: Info,
        project: uuid.UUID | None = None,
        status: TaskStatus | None = None,
        assignee: str | None = None,
        due: DueFilter | None = None,
        search: str | None = None,
    ) -> Iterable[TaskType]:
        user = _member(info)
        tasks = Task.objects.all()
        if project is not None:
            tasks = tasks.filter(project__public_id=project)
        if assignee not in (None, "", "me", "none"):
            try:
                uuid.UUID(assignee)
            except ValueError:
                raise ValidationError({"assignee": ["Must be me, none or a valid id (UUID)."]}) from None
        if check_text("search", search):
            tasks = tasks.filter(Q(title__icontains=search) | Q(description__icontains=search))
        tasks = services.filter_tasks(
            tasks,
            user=user,
            status=status.value if status else "",
            assignee=assignee or "",
            due=due.value if due else "",
        )
        return tasks.order_by(*Task._meta.ordering, "pk")

    @strawberry_django.field
    def task(self, info: Info, id: uuid.UUID) -> TaskType | None:
        _member(info)
        return _task(id)


# --- Mutations -----------------------------------------------------------------------------------
# Each is one transaction: input checked, the service called, nothing half-written if it refuses.


@strawberry.type
class ProjectsMutation:
    @strawberry.mutation
    def create_project(self, info: Info, input: ProjectInput) -> ProjectType | None:
        user = _member(info)
        with transaction.atomic():
            data = _validated(ProjectSerializer(data=_given(input)))
            return services.create_project(user, **data)

    @strawberry.mutation
    def update_project(self, info: Info, id: uuid.UUID, input: ProjectChanges) -> ProjectType | None:
        user = _member(info)
        with transaction.atomic():
            project = _project(id)
            services.require(services.can_edit_project(user, project))
            data = _validated(ProjectSerializer(project, data=_given(input), partial=True))
            return services.update_project(user, project, **data)

    @strawberry.mutation(description="Archive (archived: true) or restore a project: owners and admins.")
    def archive_project(self, info: Info, id: uuid.UUID, archived: bool) -> ProjectType | None:
        user = _member(info)
        with transaction.atomic():
            project = _project(id)
            data = _validated(ArchiveSerializer(data={"archived": archived}))
            return services.set_archived(user, project, data["archived"])

    @strawberry.mutation(description="Delete a project and its tasks: owners and admins.")
    def delete_project(self, info: Info, id: uuid.UUID) -> Deleted | None:
        user = _member(info)
        with transaction.atomic():
            services.delete_project(user, _project(id))
        return Deleted(id=id)

    @strawberry.mutation(description="Add a task; its assignee (other than you) is told by email.")
    def create_task(self, info: Info, input: TaskInput) -> TaskType | None:
        user = _member(info)
        with transaction.atomic():
            data = _validated(TaskSerializer(data=_given(input)))
            project = data.pop("project")
            return services.create_task(user, project, **data)

    @strawberry.mutation(description="Change the fields named; a new assignee is told by email.")
    def update_task(self, info: Info, id: uuid.UUID, input: TaskChanges) -> TaskType | None:
        user = _member(info)
        with transaction.atomic():
            task = _task(id)
            services.require(services.can_edit_task(user, task))
            data = _validated(TaskSerializer(task, data=_given(input), partial=True))
            return services.update_task(user, task, **data)

    @strawberry.mutation(description="Delete a task: owners and admins, or its creator.")
    def delete_task(self, info: Info, id: uuid.UUID) -> Deleted | None:
        user = _member(info)
        with transaction.atomic():
            services.delete_task(user, _task(id))
        return Deleted(id=id)

    @strawberry.mutation(description="Comment on a task; its assignee and creator are told by email.")
    def add_comment(self, info: Info, task: uuid.UUID, body: str) -> CommentType | None:
        user = _member(info)
        with transaction.atomic():
            found = _task(task)
            data = _validated(CommentSerializer(data={"body": body}))
            return services.add_comment(user, found, data["body"])
