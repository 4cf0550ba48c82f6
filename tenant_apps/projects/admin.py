"""Projects, tasks and comments in the tenant admin (never in the global admin).

The admin is one more door to the same rules: every write goes through
``tenant_apps.projects.services`` (assignees checked, archived projects closed to new tasks,
assignees and commenters' audiences emailed), and each ``has_*_permission`` wraps the services'
``can_*`` predicate of the act. A rule a form cannot satisfy comes back as a field error, from
the same ``services.check_task`` the services apply. Tasks and comments are listed read-only
inside their project and task: they are added and changed on their own pages, through the services.
Notification preferences are each user's own (their settings page): the admin only shows them.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from tenant_apps.projects import services
from tenant_apps.projects.models import Comment, NotificationPreferences, Project, Task
from tenants.admin_site import tenant_admin_site
from tenants.limits import PlanLimitReached


def _saved_as(obj, saved) -> None:
    """Make the admin's unsaved ``obj`` the row the service saved (the admin goes on with ``obj``:
    its change message, its log entry, its redirect)."""
    obj.__dict__.update(saved.__dict__)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return services.can_use_workspace(request.user)


class TaskInline(ReadOnlyInline):
    model = Task
    fields = ("title", "status", "priority", "assignee", "due_date")


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = ("author", "body", "created_at")


class WorkspaceAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return services.can_use_workspace(request.user)

    def has_view_permission(self, request, obj=None):
        return services.can_use_workspace(request.user)


def _refusal_on_form(form, check, *args) -> None:
    """Run a services' check of the plan's limits (PlanLimitReached) when the form adds a row, and
    show its reason above the form: the admin then creates nothing, and says why."""
    if form.instance.pk is None:
        try:
            check(*args)
        except PlanLimitReached as exc:
            form.add_error(None, str(exc))


class ProjectAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        _refusal_on_form(
            self, services.check_room_for_project, cleaned.get("name", ""), cleaned.get("description", "")
        )
        return cleaned


@admin.register(Project, site=tenant_admin_site)
class ProjectAdmin(WorkspaceAdmin):
    form = ProjectAdminForm
    list_display = ("name", "archived", "created_by", "created_at")
    list_filter = ("archived", "created_at")
    search_fields = ("name", "description")
    fields = (
        "name",
        "description",
        "archived",
        "public_id",
        "created_by",
        "archived_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("public_id", "created_by", "archived_at", "created_at", "updated_at")
    list_select_related = ("created_by",)
    inlines = [TaskInline]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None or not services.can_archive_project(request.user, obj):
            fields.append("archived")  # a new project starts active
        return fields

    def has_add_permission(self, request):
        return services.can_create_project(request.user)

    def has_change_permission(self, request, obj=None):
        return services.can_edit_project(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return services.can_delete_project(request.user, obj)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        if change:
            stored = Project.objects.get(pk=obj.pk)
            _saved_as(obj, services.update_project(request.user, stored, **data))
        else:
            _saved_as(
                obj,
                services.create_project(
                    request.user,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data.get("description", ""),
                ),
            )

    def delete_model(self, request, obj):
        services.delete_project(request.user, obj)

    def delete_queryset(self, request, queryset):
        for project in queryset:
            services.delete_project(request.user, project)


class TaskAdminForm(forms.ModelForm):
    """Shows the services' task rules (assignee, archived project) as field errors."""

    def clean(self):
        cleaned = super().clean()
        # ``self.instance`` still holds the stored values here (the form writes onto it later).
        task = self.instance if self.instance.pk else None
        names = self.changed_data if task else [*self.changed_data, "project"]
        try:
            services.check_task(task, {name: cleaned[name] for name in names if name in cleaned})
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        title, description = cleaned.get("title", ""), cleaned.get("description", "")
        _refusal_on_form(self, services.check_storage, title, description)
        return cleaned


class CommentAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        _refusal_on_form(self, services.check_storage, cleaned.get("body", ""))
        return cleaned


@admin.register(Task, site=tenant_admin_site)
class TaskAdmin(WorkspaceAdmin):
    form = TaskAdminForm
    list_display = ("title", "project", "status", "priority", "assignee", "due_date", "created_at")
    list_filter = ("status", "priority", "due_date", "project")
    search_fields = ("title", "description", "project__name", "assignee__email", "assignee__full_name")
    fields = (
        "project",
        "title",
        "description",
        "status",
        "priority",
        "assignee",
        "due_date",
        "public_id",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("public_id", "created_by", "created_at", "updated_at")
    autocomplete_fields = ("project", "assignee")
    list_select_related = ("project", "assignee")
    date_hierarchy = "created_at"
    inlines = [CommentInline]

    def has_add_permission(self, request):
        return services.can_create_task(request.user, None)

    def has_change_permission(self, request, obj=None):
        return services.can_edit_task(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return services.can_delete_task(request.user, obj)

    def save_model(self, request, obj, form, change):
        if change:
            stored = Task.objects.select_related("assignee").get(pk=obj.pk)
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            _saved_as(obj, services.update_task(request.user, stored, **data))
        else:
            data = {name: value for name, value in form.cleaned_data.items() if name in services.TASK_FIELDS}
            _saved_as(obj, services.create_task(request.user, data.pop("project"), **data))

    def delete_model(self, request, obj):
        services.delete_task(request.user, obj)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            services.delete_task(request.user, task)


@admin.register(Comment, site=tenant_admin_site)
class CommentAdmin(WorkspaceAdmin):
    """Comments are added here (or on the task's page) and deleted; their text is the author's."""

    form = CommentAdminForm

    list_display = ("task", "author", "created_at")
    search_fields = ("body", "task__title", "author__email")
    list_filter = ("created_at",)
    fields = ("task", "body", "author", "public_id", "created_at", "updated_at")
    readonly_fields = ("author", "public_id", "created_at", "updated_at")
    autocomplete_fields = ("task",)
    list_select_related = ("task", "author")

    def has_add_permission(self, request):
        return services.can_comment(request.user, None)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return services.can_delete_comment(request.user, obj)

    def save_model(self, request, obj, form, change):
        comment = services.add_comment(request.user, form.cleaned_data["task"], form.cleaned_data["body"])
        _saved_as(obj, comment)

    def delete_model(self, request, obj):
        services.delete_comment(request.user, obj)

    def delete_queryset(self, request, queryset):
        for comment in queryset:
            services.delete_comment(request.user, comment)


@admin.register(NotificationPreferences, site=tenant_admin_site)
class NotificationPreferencesAdmin(WorkspaceAdmin):
    list_display = ("user", "assignment", "comments", "digest")
    list_filter = ("assignment", "comments", "digest")
    search_fields = ("user__email",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
