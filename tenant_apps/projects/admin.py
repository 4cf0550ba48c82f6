"""Projects, tasks and comments in the tenant admin (never in the global admin)."""

from django.contrib import admin

from tenant_apps.projects.models import Comment, NotificationPreferences, Project, Task
from tenants.admin_site import tenant_admin_site


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ("title", "status", "priority", "assignee", "due_date")
    autocomplete_fields = ("assignee",)
    show_change_link = True


class CommentInline(admin.StackedInline):
    model = Comment
    extra = 0
    fields = ("author", "body", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("author",)


@admin.register(Project, site=tenant_admin_site)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "archived", "created_by", "created_at")
    list_filter = ("archived", "created_at")
    search_fields = ("name", "description")
    readonly_fields = ("public_id", "archived_at", "created_at", "updated_at")
    list_select_related = ("created_by",)
    inlines = [TaskInline]


@admin.register(Task, site=tenant_admin_site)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "project", "status", "priority", "assignee", "due_date", "created_at")
    list_filter = ("status", "priority", "due_date", "project")
    search_fields = ("title", "description", "project__name", "assignee__email", "assignee__full_name")
    readonly_fields = ("public_id", "created_at", "updated_at")
    autocomplete_fields = ("project", "assignee", "created_by")
    list_select_related = ("project", "assignee")
    date_hierarchy = "created_at"
    inlines = [CommentInline]


@admin.register(Comment, site=tenant_admin_site)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("task", "author", "created_at")
    search_fields = ("body", "task__title", "author__email")
    list_filter = ("created_at",)
    readonly_fields = ("public_id", "created_at", "updated_at")
    autocomplete_fields = ("task", "author")
    list_select_related = ("task", "author")


@admin.register(NotificationPreferences, site=tenant_admin_site)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "assignment", "comments", "digest")
    list_filter = ("assignment", "comments", "digest")
    search_fields = ("user__email",)
    autocomplete_fields = ("user",)
