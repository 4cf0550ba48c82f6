"""The rules of projects, tasks and comments. The pages, the admin, the API and the tasks call these.

**Who may do what** is answered here and nowhere else: one ``can_*`` predicate per act. Page views
check them (``views.member_required``), the API's permission classes and the admin's
``has_*_permission`` methods wrap them, and each service function below checks its own again
before writing. They read Django permissions granted to the role groups (the 0002 migration):
every workspace role may view, create and edit projects and tasks and comment; only owners and
admins archive or delete projects and delete others' tasks and comments. A signed-in user with no
role in this workspace may do nothing.

Rule violations raise Django's ValidationError keyed by field, or PermissionDenied; the API's
exception handler and the page and admin forms turn them into field errors and 403s.
"""

import datetime
import logging
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tenant_apps.projects import emails
from tenant_apps.projects.models import Comment, DigestDelivery, NotificationPreferences, Project, Task
from tenants import limits
from tenants.services import query_each_schema

logger = logging.getLogger(__name__)


# --- Who may do what ---------------------------------------------------------------------------


def _has(user, perm: str) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(perm))


def can_use_workspace(user) -> bool:
    """Signed in, active, and holding a role here: may see every project, task and comment."""
    return _has(user, "projects.view_project")


def can_create_project(user) -> bool:
    return _has(user, "projects.add_project")


def can_edit_project(user, project: Project | None) -> bool:
    return _has(user, "projects.change_project")


def can_archive_project(user, project: Project | None) -> bool:
    """Archive or restore a project: owners and admins."""
    return _has(user, "projects.archive_project")


def can_delete_project(user, project: Project | None) -> bool:
    return _has(user, "projects.delete_project")


def can_create_task(user, project: Project | None) -> bool:
    return _has(user, "projects.add_task")


def can_edit_task(user, task: Task | None) -> bool:
    return _has(user, "projects.change_task")


def can_delete_task(user, task: Task | None) -> bool:
    """Owners and admins; a task's creator may take back their own."""
    own = task is not None and user is not None and task.created_by_id == user.pk
    return (own and can_use_workspace(user)) or _has(user, "projects.delete_task")


def can_comment(user, task: Task | None) -> bool:
    return _has(user, "projects.add_comment")


def can_delete_comment(user, comment: Comment | None) -> bool:
    """Owners and admins; a comment's author may take back their own."""
    own = comment is not None and user is not None and comment.author_id == user.pk
    return (own and can_use_workspace(user)) or _has(user, "projects.delete_comment")


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# --- Notification preferences ------------------------------------------------------------------


def preferences_for(user) -> NotificationPreferences:
    """The user's preferences; defaults (everything on) when they never saved any."""
    return NotificationPreferences.objects.filter(user=user).first() or NotificationPreferences(user=user)


def wants_email(user, kind: str) -> bool:
    """Whether ``user`` receives project emails of ``kind`` (assignment, comments, digest)."""
    return getattr(preferences_for(user), kind)


def update_preferences(actor, **flags) -> NotificationPreferences:
    """Change the actor's own preferences (nobody changes someone else's)."""
    require(can_use_workspace(actor))
    prefs, _ = NotificationPreferences.objects.get_or_create(user=actor)
    for name in ("assignment", "comments", "digest"):
        if name in flags:
            setattr(prefs, name, bool(flags[name]))
    prefs.save()
    return prefs


# --- The plan's limits ---------------------------------------------------------------------------
# Archived projects count toward ``max_projects``: they keep their tasks and are restored with one
# click, so archiving must not be a way around the limit; deleting a project frees its place.
# Storage (``max_storage_mb``) is checked when a project, task or comment is created.


def projects_by_schema(schemas) -> dict[str, int]:
    """Projects in each schema, archived ones included (TENANT_USAGE_COUNTERS["projects"])."""
    # The table is in every schema since the app's first migration: no catalog check needed.
    return dict(query_each_schema(schemas, "projects_project", "count(*)", check_tables=False))


def check_room_for_project(name: str = "", description: str = "") -> None:
    """PlanLimitReached unless the plan allows one more project and its text within the storage.
    The create service calls it; the admin's form too, to show the reason beside the form."""
    limits.check_limit(None, "projects")
    check_storage(name, description)


def check_storage(*texts: str) -> None:
    """PlanLimitReached if writing ``texts`` would take the workspace past its plan's storage."""
    limits.check_limit(None, "storage", sum(len((text or "").encode()) for text in texts))


# --- Projects ----------------------------------------------------------------------------------


def create_project(actor, *, name: str, description: str = "") -> Project:
    require(can_create_project(actor))
    with transaction.atomic():
        check_room_for_project(name, description)
        return Project.objects.create(name=name.strip(), description=description, created_by=actor)


PROJECT_FIELDS = {"name", "description", "archived"}


def update_project(actor, project: Project, **fields) -> Project:
    """Change a project's name or description; ``archived`` (if it changes) follows the archive rule."""
    require(can_edit_project(actor, project))
    unknown = set(fields) - PROJECT_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    archived = fields.pop("archived", project.archived)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(project, name, value.strip() if name == "name" else value)
        if fields:
            project.save(update_fields=[*fields, "updated_at"])
        if archived != project.archived:
            set_archived(actor, project, archived)
    return project


def set_archived(actor, project: Project, archived: bool) -> Project:
    require(can_archive_project(actor, project))
    project.archived = archived
    project.archived_at = timezone.now() if archived else None
    project.save(update_fields=["archived", "archived_at", "updated_at"])
    return project


def delete_project(actor, project: Project) -> None:
    require(can_delete_project(actor, project))
    project.delete()


# --- Tasks -------------------------------------------------------------------------------------

TASK_FIELDS = {"title", "description", "status", "priority", "assignee", "due_date", "project"}


def check_task(task: Task | None, fields: dict) -> None:
    """Raise ValidationError (keyed by field) for a new task (``task`` None, ``fields`` with its
    project) or a change of ``task`` that breaks a rule: assignees are members of this workspace,
    archived projects take no new tasks. Forms call it to show the errors beside their fields."""
    errors = {}
    unknown = set(fields) - TASK_FIELDS
    for name in unknown:
        errors[name] = ["This field cannot be changed here."]
    assignee = fields.get("assignee")
    if assignee is not None and not can_use_workspace(assignee):
        errors["assignee"] = ["Tasks can only be assigned to active members of this workspace."]
    project = fields.get("project")
    if task is None and project is not None and project.archived:
        errors["project"] = ["This project is archived; unarchive it to add tasks."]
    elif task is not None and project is not None and project.archived and project.pk != task.project_id:
        errors["project"] = ["Tasks cannot be moved into an archived project."]
    if errors:
        raise ValidationError(errors)


def create_task(
    actor,
    project: Project,
    *,
    title: str,
    description: str = "",
    status: str = Task.Status.TODO,
    priority: int = Task.Priority.NORMAL,
    assignee=None,
    due_date=None,
) -> Task:
    """Add a task to ``project``; its assignee (other than the actor) is told by email."""
    require(can_create_task(actor, project))
    check_task(None, {"project": project, "assignee": assignee})
    with transaction.atomic():
        check_storage(title, description)
        task = Task.objects.create(
            project=project,
            title=title.strip(),
            description=description,
            status=status,
            priority=priority,
            assignee=assignee,
            due_date=due_date,
            created_by=actor,
        )
        _tell_assignee(task, actor)
    return task


def update_task(actor, task: Task, **fields) -> Task:
    """Change a task as stored (``task`` holds the stored values); a new assignee (other than the
    actor) is told by email."""
    require(can_edit_task(actor, task))
    check_task(task, fields)
    previous_assignee_id = task.assignee_id
    with transaction.atomic():
        for name, value in fields.items():
            setattr(task, name, value.strip() if name == "title" else value)
        task.save(update_fields=[*fields, "updated_at"])
        if task.assignee_id != previous_assignee_id:
            _tell_assignee(task, actor)
    return task


def _tell_assignee(task: Task, actor) -> None:
    assignee = task.assignee
    if assignee is not None and assignee.pk != actor.pk and wants_email(assignee, "assignment"):
        emails.task_assigned(task, assignee, actor)


def delete_task(actor, task: Task) -> None:
    require(can_delete_task(actor, task))
    task.delete()


# --- Comments ----------------------------------------------------------------------------------


def add_comment(actor, task: Task, body: str) -> Comment:
    """Comment on a task; the assignee and the task's creator are told, never the author."""
    require(can_comment(actor, task))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["A comment cannot be empty."]})
    with transaction.atomic():
        check_storage(body)
        comment = Comment.objects.create(task=task, author=actor, body=body)
        recipients = {
            user.pk: user
            for user in (task.assignee, task.created_by)
            if user is not None and user.pk != actor.pk and user.is_active
        }
        for user in recipients.values():
            if wants_email(user, "comments"):
                emails.comment_added(comment, user)
    return comment


def delete_comment(actor, comment: Comment) -> None:
    require(can_delete_comment(actor, comment))
    comment.delete()


# --- The daily digest --------------------------------------------------------------------------


def queue_due_digests(day: datetime.date | None = None) -> int:
    """Queue, in the current tenant, one digest per user with open tasks due ``day`` (today) or the
    day after, in active projects, unless they turned digests off. Returns how many.

    Each user's digest is claimed by inserting (user, day) under a unique constraint in the same
    transaction that queues the email: a second beat run, a retry or a second worker finds the row
    and queues nothing, so a user gets exactly one digest per tenant per day.
    """
    today = day or timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    opted_out = NotificationPreferences.objects.filter(digest=False).values("user_id")
    due = (
        Task.objects.filter(
            due_date__gte=today, due_date__lte=tomorrow, assignee__is_active=True, project__archived=False
        )
        .exclude(status=Task.Status.DONE)
        .exclude(assignee_id__in=opted_out)
        .select_related("assignee", "project")
        .order_by("assignee_id", "due_date", "-priority")
    )
    by_user: dict[int, list[Task]] = {}
    for task in due:
        by_user.setdefault(task.assignee_id, []).append(task)
    queued = 0
    for tasks in by_user.values():
        user = tasks[0].assignee
        with transaction.atomic():
            _, claimed = DigestDelivery.objects.get_or_create(user=user, day=today)
            if claimed:
                emails.due_digest(user, tasks, today)
                queued += 1
    logger.info("queued %d due-task digests for %s", queued, today)
    return queued


# --- Reading -----------------------------------------------------------------------------------


def workspace_members():
    """Active users who hold a role here (the people tasks can be assigned to)."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(
                groups__permissions__codename="view_project",
                groups__permissions__content_type__app_label="projects",
            )
        )
        .distinct()
        .order_by("full_name", "email")
    )


def filter_tasks(tasks, *, user, status: str = "", assignee: str = "", due: str = ""):
    """Apply the list filters shared by the pages and the API. Unknown values match nothing
    rather than everything, so a typo never shows more than was asked for."""
    if status:
        tasks = tasks.filter(status=status)
    if assignee == "me":
        tasks = tasks.filter(assignee=user)
    elif assignee == "none":
        tasks = tasks.filter(assignee__isnull=True)
    elif assignee:
        try:
            tasks = tasks.filter(assignee__public_id=uuid.UUID(assignee))
        except ValueError:
            tasks = tasks.none()
    today = timezone.localdate()
    if due == "overdue":
        tasks = tasks.filter(due_date__lt=today).exclude(status=Task.Status.DONE)
    elif due == "today":
        tasks = tasks.filter(due_date=today)
    elif due == "week":
        tasks = tasks.filter(due_date__gte=today, due_date__lte=today + datetime.timedelta(days=7))
    elif due == "none":
        tasks = tasks.filter(due_date__isnull=True)
    elif due:
        tasks = tasks.none()
    return tasks
