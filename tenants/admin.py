"""The global admin (root domain, public schema): the operator's view of every tenant."""

from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.module_loading import import_string

from tenants import services
from tenants.forms import NewTenantForm
from tenants.models import Domain, Tenant


def _app_column(index: int, heading: str, render_path: str):
    """A list column of an app (settings.TENANT_ADMIN_COLUMNS), showing ``tenant.app_columns[index]``."""
    render = import_string(render_path)

    def column(tenant):
        return render(tenant.app_columns[index])

    column.__name__ = f"app_column_{index}"
    return admin.display(description=heading)(column)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "status_badge", "plan", "user_count", "primary_domain", "created_at")
    list_filter = ("status", "plan", "created_at")
    search_fields = ("slug", "name", "domains__domain")
    readonly_fields = (
        "slug",
        "schema_name",
        "public_id",
        "status",
        "suspended_reason",
        "created_at",
        "updated_at",
        "user_count",
    )
    fields = (
        "name",
        "slug",
        "schema_name",
        "public_id",
        "status",
        "suspended_reason",
        "plan",
        "branding",
        "email_from_name",
        "email_reply_to",
        "user_count",
        "created_at",
        "updated_at",
    )
    actions = ("suspend_selected", "reactivate_selected")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains")

    def get_list_display(self, request):
        # The apps' columns go after the user count.
        at = self.list_display.index("user_count") + 1
        columns = [
            _app_column(index, heading, render)
            for index, (heading, _values, render) in enumerate(settings.TENANT_ADMIN_COLUMNS)
        ]
        return (*self.list_display[:at], *columns, *self.list_display[at:])

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One statement per column for the page's tenants, whatever their number.
        tenants = services.attach_user_counts(changelist.result_list)
        schemas = [tenant.schema_name for tenant in tenants]
        columns = [
            import_string(values)(schemas) for _heading, values, _render in settings.TENANT_ADMIN_COLUMNS
        ]
        for tenant in tenants:
            tenant.app_columns = [values.get(tenant.schema_name) for values in columns]
        return changelist

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            return NewTenantForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ("slug", "name", "owner_email")})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [DomainInline] if obj is not None else []

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        # Adding goes through the provisioning service, like the CLI and the operator API.
        data = form.cleaned_data
        provisioned = services.provision_tenant(data["slug"], data["name"], data["owner_email"])
        request._provisioned = provisioned
        return provisioned.tenant

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def construct_change_message(self, request, form, formsets, add=False):
        if add:
            return [{"added": {}}]
        return super().construct_change_message(request, form, formsets, add)

    def response_add(self, request, obj, post_url_continue=None):
        provisioned = getattr(request, "_provisioned", None)
        if provisioned is not None:
            self.message_user(
                request,
                # Not the owner's set-password link: it is theirs alone, emailed to them.
                format_html(
                    "Tenant {} is ready at {}. A welcome email with a one-time link to set a password "
                    "was sent to {}.",
                    obj.slug,
                    obj.url(),
                    provisioned.owner.email,
                ),
                messages.SUCCESS,
            )
        return super().response_add(request, obj, post_url_continue)

    def delete_model(self, request, obj):
        # Deleting a tenant drops its schema: always through the lifecycle service.
        services.delete_tenant(obj)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            services.delete_tenant(tenant)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        color = "#2f855a" if obj.is_active else "#c53030"
        return format_html('<strong style="color:{}">{}</strong>', color, obj.get_status_display())

    @admin.display(description="Users")
    def user_count(self, obj):
        if not hasattr(obj, "user_count"):  # the change form shows one tenant
            services.attach_user_counts([obj])
        return obj.user_count

    @admin.display(description="Primary domain")
    def primary_domain(self, obj):
        domains = [d for d in obj.domains.all() if d.is_primary]
        return domains[0].domain if domains else "-"

    @admin.action(description="Suspend selected tenants")
    def suspend_selected(self, request, queryset):
        for tenant in queryset:
            services.suspend_tenant(tenant, reason=f"Suspended from the admin by {request.user}")
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)

    @admin.action(description="Reactivate selected tenants")
    def reactivate_selected(self, request, queryset):
        for tenant in queryset:
            services.reactivate_tenant(tenant)
        self.message_user(request, f"Reactivated {queryset.count()} tenant(s).", messages.SUCCESS)
