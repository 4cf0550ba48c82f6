"""The tenant's app in the browser: server-rendered pages on the tenant's subdomain.

Each view parses its form and calls one service; who may do what is the services' ``can_*``
predicates (``member_required`` for the whole app, the per-object ones for archive and delete).
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tenant_apps.projects import services
from tenant_apps.projects.forms import CommentForm, PreferencesForm, ProjectForm, TaskFilterForm, TaskForm
from tenant_apps.projects.models import Project, Task
from tenants.limits import PlanLimitReached


def member_required(view):
    """Signed in and holding a role in this workspace; anyone else is sent to sign in (anonymous)
    or refused (a signed-in user without a role here)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not services.can_use_workspace(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _apply_errors(form, exc: ValidationError | PlanLimitReached):
    """The service's refusal on the form: field errors beside their fields, a plan's limit reached
    (a PermissionDenied with its reason) above the form, which keeps what was typed."""
    if isinstance(exc, PlanLimitReached):
        form.add_error(None, str(exc))
        return
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@member_required
def project_list(request):
    show_archived = request.GET.get("archived") == "1"
    projects = Project.objects.filter(archived=show_archived).annotate(
        open_tasks=Count("tasks", filter=~Q(tasks__status=Task.Status.DONE)), all_tasks=Count("tasks")
    )
    return render(
        request,
        "projects/project_list.html",
        {
            "nav": "projects",
            "projects": projects,
            "show_archived": show_archived,
        },
    )


@member_required
def project_create(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(request.user, **form.cleaned_data)
        except PlanLimitReached as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("projects:project", project.public_id)
    return render(request, "projects/project_form.html", {"form": form})


@member_required
def project_detail(request, public_id):
    project = get_object_or_404(Project, public_id=public_id)
    filters = TaskFilterForm(request.GET or None)
    tasks = project.tasks.select_related("assignee")
    if filters.is_valid():
        tasks = services.filter_tasks(tasks, user=request.user, **filters.cleaned_data)
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "tasks": tasks,
            "filters": filters,
            "can_archive": services.can_archive_project(request.user, project),
            "can_delete": services.can_delete_project(request.user, project),
        },
    )


@member_required
def project_edit(request, public_id):
    project = get_object_or_404(Project, public_id=public_id)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        services.update_project(request.user, project, **form.cleaned_data)
        messages.success(request, "Project saved.")
        return redirect("projects:project", project.public_id)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


@member_required
@require_POST
def project_archive(request, public_id):
    project = get_object_or_404(Project, public_id=public_id)
    archive = request.POST.get("archived", "1") == "1"
    services.set_archived(request.user, project, archive)
    messages.success(request, f"Project “{project.name}” {'archived' if archive else 'restored'}.")
    return redirect("projects:project", project.public_id)


@member_required
def project_delete(request, public_id):
    project = get_object_or_404(Project, public_id=public_id)
    if not services.can_delete_project(request.user, project):
        raise PermissionDenied
    if request.method == "POST":
        services.delete_project(request.user, project)
        messages.success(request, f"Project “{project.name}” deleted.")
        return redirect("projects:list")
    return render(
        request,
        "projects/confirm_delete.html",
        {"object": project, "kind": "project", "cancel_url": project_url(project)},
    )


def project_url(project):
    from django.urls import reverse

    return reverse("projects:project", args=[project.public_id])


@member_required
def task_create(request, public_id):
    project = get_object_or_404(Project, public_id=public_id)
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.create_task(request.user, project, **form.cleaned_data)
        except (ValidationError, PlanLimitReached) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Task “{task.title}” created.")
            return redirect("projects:task", task.public_id)
    return render(request, "projects/task_form.html", {"form": form, "project": project})


@member_required
def task_detail(request, public_id):
    tasks = Task.objects.select_related("project", "assignee", "created_by")
    task = get_object_or_404(tasks, public_id=public_id)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_comment(request.user, task, form.cleaned_data["body"])
        except (ValidationError, PlanLimitReached) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Comment added.")
            return redirect("projects:task", task.public_id)
    return render(
        request,
        "projects/task_detail.html",
        {
            "task": task,
            "project": task.project,
            "form": form,
            "comments": task.comments.select_related("author"),
            "can_delete": services.can_delete_task(request.user, task),
        },
    )


@member_required
def task_edit(request, public_id):
    task = get_object_or_404(Task.objects.select_related("project"), public_id=public_id)
    form = TaskForm(request.POST or None, instance=task)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        # The form already wrote the values onto the instance; the service compares against
        # what is stored, so start from the stored row.
        task.refresh_from_db()
        try:
            services.update_task(request.user, task, **changed)
        except (ValidationError, PlanLimitReached) as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Task saved.")
            return redirect("projects:task", task.public_id)
    return render(request, "projects/task_form.html", {"form": form, "project": task.project, "task": task})


@member_required
def task_delete(request, public_id):
    task = get_object_or_404(Task.objects.select_related("project"), public_id=public_id)
    if not services.can_delete_task(request.user, task):
        raise PermissionDenied
    if request.method == "POST":
        services.delete_task(request.user, task)
        messages.success(request, f"Task “{task.title}” deleted.")
        return redirect("projects:project", task.project.public_id)
    return render(
        request,
        "projects/confirm_delete.html",
        {"object": task, "kind": "task", "cancel_url": project_url(task.project)},
    )


@member_required
def my_tasks(request):
    tasks = (
        Task.objects.filter(assignee=request.user).exclude(status=Task.Status.DONE).select_related("project")
    )
    return render(request, "projects/my_tasks.html", {"nav": "my_tasks", "tasks": tasks})


@member_required
def preferences(request):
    current = services.preferences_for(request.user)
    form = PreferencesForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.update_preferences(request.user, **form.cleaned_data)
        messages.success(request, "Email preferences saved.")
        return redirect("projects:preferences")
    return render(request, "projects/preferences.html", {"nav": "settings", "form": form})
