"""The global admin's side of the tenant lifecycle: soft delete, restore, purge, rename.

``TenantAdmin`` (tenants/admin.py) mixes this in. Every step calls one tenants.services function,
like the CLI and the operator API:

- Django's own delete (the delete page and the "Delete selected" action) soft-deletes through
  ``services.delete_tenant``: its confirmation lists the tenants only (their domains and schema
  stay), and nothing the admin does drops a schema except "Purge", which asks first.
- "Restore" brings deleted tenants back; one that cannot be (not deleted, past its grace period)
  is named in an error message.
- "Purge" takes deleted tenants only, after a confirmation page naming each schema it drops.
- "Rename" takes one tenant and asks for the new slug on a form; the service's field errors are
  shown on it.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.html import format_html
from unfold.widgets import UnfoldAdminTextInputWidget

from tenants import services
from tenants.models import Tenant


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("yes", "Deleted (restorable)"), ("no", "Not deleted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Tenant.Status.DELETED)
        if self.value() == "no":
            return queryset.exclude(status=Tenant.Status.DELETED)
        return queryset


class RenameForm(forms.Form):
    slug = forms.CharField(
        max_length=40, label="New slug", help_text="The new subdomain.", widget=UnfoldAdminTextInputWidget
    )


class LifecycleAdminMixin:
    lifecycle_actions = ("restore_selected", "purge_selected", "rename_tenant")

    def get_deleted_objects(self, objs, request):
        # The delete is soft: nothing related goes, so the confirmation lists the tenants alone.
        objs = list(objs)
        return (
            [
                format_html("{} (restorable for {} days)", obj, settings.TENANT_DELETE_GRACE_DAYS)
                for obj in objs
            ],
            {Tenant._meta.verbose_name_plural: len(objs)},
            set(),
            [],
        )

    def delete_model(self, request, obj):
        services.delete_tenant(obj)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            services.delete_tenant(tenant)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        if obj.status == Tenant.Status.DELETED:
            return format_html(
                '<strong style="color:#718096"><s>Deleted</s></strong> (purged after {})',
                f"{services.purge_after(obj):%Y-%m-%d}",
            )
        color = "#2f855a" if obj.is_active else "#c53030"
        return format_html('<strong style="color:{}">{}</strong>', color, obj.get_status_display())

    @admin.action(description="Restore selected deleted tenants")
    def restore_selected(self, request, queryset):
        restored = 0
        for tenant in queryset:
            try:
                services.restore_tenant(tenant)
                restored += 1
            except services.LifecycleRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
        if restored:
            self.message_user(request, f"Restored {restored} tenant(s).", messages.SUCCESS)

    @admin.action(description="Purge selected deleted tenants (drop their data now)")
    def purge_selected(self, request, queryset):
        tenants = list(queryset)
        not_deleted = [t.slug for t in tenants if t.status != Tenant.Status.DELETED]
        if not_deleted:
            self.message_user(
                request,
                f"Only deleted tenants are purged; delete these first: {', '.join(not_deleted)}.",
                messages.ERROR,
            )
            return None
        if request.POST.get("confirm") != "yes":
            return self._intermediate(
                request, "purge_selected", tenants, "admin/tenants/tenant/purge.html", {}
            )
        for tenant in tenants:
            try:
                services.purge_tenant(tenant)
            except services.LifecycleRefused as exc:  # restored meanwhile
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(request, f"Purged {tenant.slug}: schema {tenant.schema_name} dropped.")
        return None

    @admin.action(description="Rename the selected tenant")
    def rename_tenant(self, request, queryset):
        tenants = list(queryset[:2])
        if len(tenants) != 1:
            self.message_user(request, "Select exactly one tenant to rename.", messages.ERROR)
            return None
        tenant = tenants[0]
        form = RenameForm(request.POST if "slug" in request.POST else None)
        if form.is_valid():
            old_host = tenant.primary_host
            try:
                tenant = services.rename_tenant(tenant, form.cleaned_data["slug"])
            except services.LifecycleRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                self.message_user(
                    request,
                    f"Renamed to {tenant.slug}: {tenant.url()}. {old_host} redirects there for "
                    f"{settings.TENANT_RENAME_REDIRECT_DAYS} days.",
                    messages.SUCCESS,
                )
                return None
        return self._intermediate(
            request, "rename_tenant", tenants, "admin/tenants/tenant/rename.html", {"form": form}
        )

    def _intermediate(self, request, action, tenants, template, extra):
        context = {
            **self.admin_site.each_context(request),
            "title": "Are you sure?" if action == "purge_selected" else f"Rename {tenants[0].slug}",
            "opts": self.model._meta,
            "tenants": tenants,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "grace_days": settings.TENANT_DELETE_GRACE_DAYS,
            "redirect_days": settings.TENANT_RENAME_REDIRECT_DAYS,
            **extra,
        }
        return TemplateResponse(request, template, context)
