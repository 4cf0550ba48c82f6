"""The global admin (root domain, public schema): the operator's view of every tenant."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.module_loading import import_string

from tenants import limits, services
from tenants.domain_admin import DomainInline  # and the Domains page (custom domains)
from tenants.export_admin import export_selected
from tenants.forms import NewTenantForm
from tenants.lifecycle_admin import DeletedFilter, LifecycleAdminMixin
from tenants.models import Tenant


def _app_column(index: int, heading: str, render_path: str):
    """A list column of an app (settings.TENANT_ADMIN_COLUMNS), showing ``tenant.app_columns[index]``."""
    render = import_string(render_path)

    def column(tenant):
        return render(tenant.app_columns[index])

    column.__name__ = f"app_column_{index}"
    return admin.display(description=heading)(column)


PLAN_LIMITS = tuple(limits.LIMIT_FIELDS.values())


@admin.register(Tenant)
class TenantAdmin(LifecycleAdminMixin, admin.ModelAdmin):
    # Delete (soft), restore, purge, rename and the status column: tenants/lifecycle_admin.py.
    list_display = (
        "slug",
        "name",
        "status_badge",
        "plan",
        "plan_usage",
        "user_count",
        "primary_domain",
        "created_at",
    )
    list_filter = ("status", DeletedFilter, "plan", "created_at")
    search_fields = ("slug", "name", "domains__domain")
    readonly_fields = (
        "slug",
        "schema_name",
        "public_id",
        "status",
        "suspended_reason",
        "deleted_at",
        "created_at",
        "updated_at",
        "user_count",
        "plan_usage",
    )
    fields = (
        "name",
        "slug",
        "schema_name",
        "public_id",
        "status",
        "suspended_reason",
        "deleted_at",
        "plan",
        "max_users",
        "max_projects",
        "max_storage_mb",
        "plan_usage",
        "branding",
        "email_from_name",
        "email_reply_to",
        "user_count",
        "created_at",
        "updated_at",
    )
    actions = (
        "suspend_selected",
        "reactivate_selected",
        export_selected,
        *LifecycleAdminMixin.lifecycle_actions,
    )
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
        limits.attach_usage(tenants)
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

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "plan":  # the plans are settings.TENANT_PLANS, not model choices
            return forms.ChoiceField(
                choices=[(name, name) for name in limits.plan_names()],
                help_text="Changing the plan resets the limits below to its defaults, "
                "unless you change them too.",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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
        if not change:
            return
        # The plan and its limits change through tenants.limits.change_plan, like the operator API
        # and the CLI; the rest of the form is saved as usual first.
        plan = form.cleaned_data["plan"] if "plan" in form.changed_data else None
        overrides = {name: form.cleaned_data[name] for name in PLAN_LIMITS if name in form.changed_data}
        stored = Tenant.objects.values("plan", *PLAN_LIMITS).get(pk=obj.pk)
        for name, value in stored.items():
            setattr(obj, name, value)
        super().save_model(request, obj, form, change)
        if plan is not None or overrides:
            limits.change_plan(obj, plan, **overrides)

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

    @admin.display(description="Usage (limit)")
    def plan_usage(self, obj):
        if not hasattr(obj, "plan_usage"):  # the change form shows one tenant
            limits.attach_usage([obj])
        used = obj.plan_usage or {}

        def part(value, limit, unit):
            return f"{value} / {limit if limit is not None else '∞'} {unit}"

        return "; ".join(
            [
                part(used.get("users", 0), obj.max_users, "users"),
                part(used.get("projects", 0), obj.max_projects, "projects"),
                part(used.get("storage_mb", 0), obj.max_storage_mb, "MB"),
            ]
        )

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
