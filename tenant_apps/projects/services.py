"""The rules of projects, tasks and comments. Views, the admin and the API call these.

Permissions are Django permissions granted to the role groups (see the 0002 migration): every
workspace role may view and edit projects and tasks and comment; only owners and admins
(``archive_project`` / ``delete_project``) archive or delete projects. A signed-in user with no
role in this workspace has none of them.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from tenant_apps.projects import emails
from tenant_apps.projects.models import Comment, NotificationPreferences, Project, Task

VIEW = "projects.view_project"


def require(user, perm: str) -> None:
    if not (user and user.is_authenticated and user.is_active and user.has_perm(perm)):
        raise PermissionDenied


def can_use_workspace(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW))


def can_manage_projects(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("projects.archive_project"))


def preferences_for(user) -> NotificationPreferences:
    """The user's preferences; defaults (everything on) when they never saved any."""
    return NotificationPreferences.objects.filter(user=user).first() or NotificationPreferences(user=user)


def update_preferences(actor, **flags) -> NotificationPreferences:
    prefs, _ = NotificationPreferences.objects.get_or_create(user=actor)
    for name in ("assignment", "comments", "digest"):
        if name in flags:
            setattr(prefs, name, bool(flags[name]))
    prefs.save()
    return prefs


# --- Projects ---------------------------------------------------------------------------------

def create_project(actor, *, name: str, description: str = "") -> Project:
    require(actor, "projects.add_project")
    return Project.objects.create(name=name.strip(), description=description, created_by=actor)


def update_project(actor, project: Project, **fields) -> Project:
    require(actor, "projects.change_project")
    allowed = {"name", "description"}
    for name, value in fields.items():
        if name not in allowed:
            raise ValidationError({name: ["This field cannot be changed here."]})
        setattr(project, name, value.strip() if name == "name" else value)
    project.save(update_fields=[*fields, "updated_at"])
    return project


def set_archived(actor, project: Project, archived: bool) -> Project:
    require(actor, "projects.archive_project")
    project.archived = archived
    project.archived_at = timezone.now() if archived else None
    project.save(update_fields=["archived", "archived_at", "updated_at"])
    return project


def delete_project(actor, project: Project) -> None:
    require(actor, "projects.delete_project")
    project.delete()


# --- Tasks ------------------------------------------------------------------------------------

def _check_assignee(assignee) -> None:
    if assignee is not None and not can_use_workspace(assignee):
        raise ValidationError({"assignee": ["Tasks can only be assigned to active members of this workspace."]})


def create_task(actor, project: Project, *, title: str, description: str = "", status: str = Task.Status.TODO,
                priority: int = Task.Priority.NORMAL, assignee=None, due_date=None) -> Task:
    require(actor, "projects.add_task")
    if project.archived:
        raise ValidationError({"project": ["This project is archived; unarchive it to add tasks."]})
    _check_assignee(assignee)
    with transaction.atomic():
        task = Task.objects.create(project=project, title=title.strip(), description=description, status=status,
                                   priority=priority, assignee=assignee, due_date=due_date, created_by=actor)
        if assignee is not None and assignee != actor:
            emails.task_assigned(task, assignee, actor)
    return task


TASK_FIELDS = {"title", "description", "status", "priority", "assignee", "due_date", "project"}


def update_task(actor, task: Task, **fields) -> Task:
    """Change a task; a new assignee (other than the actor) is told by email."""
    require(actor, "projects.change_task")
    unknown = set(fields) - TASK_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    if "assignee" in fields:
        _check_assignee(fields["assignee"])
    if "project" in fields and fields["project"].archived and fields["project"] != task.project:
        raise ValidationError({"project": ["Tasks cannot be moved into an archived project."]})
    previous_assignee_id = task.assignee_id
    with transaction.atomic():
        for name, value in fields.items():
            setattr(task, name, value.strip() if name == "title" else value)
        task.save(update_fields=[*fields, "updated_at"])
        assignee = task.assignee
        if assignee is not None and assignee.pk != previous_assignee_id and assignee != actor:
            emails.task_assigned(task, assignee, actor)
    return task


def delete_task(actor, task: Task) -> None:
    # The task's creator may take back their own task; otherwise owners and admins.
    if not (task.created_by_id == actor.pk and can_use_workspace(actor)):
        require(actor, "projects.delete_task")
    task.delete()


# --- Comments ---------------------------------------------------------------------------------

def add_comment(actor, task: Task, body: str) -> Comment:
    """Comment on a task; the assignee and the task's creator are told, never the author."""
    require(actor, "projects.add_comment")
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["A comment cannot be empty."]})
    with transaction.atomic():
        comment = Comment.objects.create(task=task, author=actor, body=body)
        recipients = {user.pk: user for user in (task.assignee, task.created_by)
                      if user is not None and user.pk != actor.pk and user.is_active}
        for user in recipients.values():
            emails.comment_added(comment, user)
    return comment


def delete_comment(actor, comment: Comment) -> None:
    if comment.author_id != actor.pk:
        require(actor, "projects.delete_comment")
    comment.delete()


def workspace_members():
    """Active users who hold a role here (the people tasks can be assigned to)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    return (
        get_user_model().objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__codename="view_project",
                                          groups__permissions__content_type__app_label="projects"))
        .distinct()
        .order_by("full_name", "email")
    )


def filter_tasks(tasks, *, user, status: str = "", assignee: str = "", due: str = ""):
    """Apply the list filters shared by the pages and the API. Unknown values match nothing
    rather than everything, so a typo never shows more than was asked for."""
    import datetime
    import uuid

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
