"""Users in both admin sites: operators in the global admin, a tenant's users in its own admin.

In a tenant's admin, users are not created or edited freely: people join through invitations,
and roles change and accounts are deactivated through the accounts services (admin actions), so
the rules (only owners touch owners, always one owner) hold here exactly as in the API.
"""

import knox.admin  # noqa: F401  (registers knox's admin, taken back at the end of this module)
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from knox.models import AuthToken

from tenant_apps.accounts import invitations, services
from tenant_apps.accounts.models import Invitation, User
from tenant_apps.accounts.roles import Role, role_of
from tenants.admin_site import tenant_admin_site


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class UserAdmin(BaseUserAdmin):
    """The global admin's view of operators."""

    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "last_login", "created_at")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "full_name")
    readonly_fields = ("public_id", "last_login", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
    )

    def has_delete_permission(self, request, obj=None):
        # Deactivate instead. Deleting a User collects the rows of every model that points at users,
        # tenant-only ones included, whose tables do not exist in the public schema.
        return False


def _run(modeladmin, request, queryset, action, done: str):
    """Apply a service to each selected row, reporting refusals instead of failing the page."""
    count = 0
    for obj in queryset:
        try:
            action(obj)
            count += 1
        except (ValidationError, PermissionDenied) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            modeladmin.message_user(request, f"{obj}: {text}", messages.ERROR)
    if count:
        modeladmin.message_user(request, f"{done}: {count}.", messages.SUCCESS)


def _role_action(role: str):
    def action(modeladmin, request, queryset):
        _run(
            modeladmin,
            request,
            queryset,
            lambda user: services.set_role(request.user, user, role),
            f"Made {role}",
        )

    action.__name__ = f"make_{role}"
    action.short_description = f"Make the selected users {role}s"
    return action


class TenantUserAdmin(admin.ModelAdmin):
    list_display = ("email", "full_name", "role", "is_active", "last_login", "created_at")
    list_filter = ("is_active", "groups")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    fields = ("email", "full_name", "role", "is_active", "public_id", "last_login", "created_at")
    readonly_fields = ("email", "role", "is_active", "public_id", "last_login", "created_at")
    actions = [
        _role_action(Role.OWNER),
        _role_action(Role.ADMIN),
        _role_action(Role.MEMBER),
        "deactivate",
        "reactivate",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Role")
    def role(self, obj):
        return role_of(obj) or "-"

    def has_module_permission(self, request):
        return services.can_manage_users(request.user)

    def has_view_permission(self, request, obj=None):
        return services.can_manage_users(request.user)

    def has_add_permission(self, request):
        return False  # people join through invitations

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: rows stay for history

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return services.can_manage_users(request.user)
        return services.can_change_user(request.user, obj)

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request, queryset):
        _run(
            self, request, queryset, lambda user: services.deactivate_user(request.user, user), "Deactivated"
        )

    @admin.action(description="Reactivate the selected users")
    def reactivate(self, request, queryset):
        _run(
            self, request, queryset, lambda user: services.reactivate_user(request.user, user), "Reactivated"
        )


class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "role", "status", "invited_by", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email",)
    actions = ["resend", "revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("email", "role")
        return (
            "email",
            "role",
            "status",
            "invited_by",
            "expires_at",
            "sent_at",
            "send_count",
            "accepted_at",
            "revoked_at",
            "created_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_module_permission(self, request):
        return services.can_manage_users(request.user)

    def has_view_permission(self, request, obj=None):
        return services.can_manage_users(request.user)

    def has_add_permission(self, request):
        return services.can_manage_users(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return services.can_manage_users(request.user)
        return services.can_change_invitation(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead

    def save_model(self, request, obj, form, change):
        if change:
            return
        # Adding goes through the invitation service (which also sends the email).
        created = invitations.invite(request.user, obj.email, obj.role)
        obj.pk = created.pk
        obj.public_id = created.public_id

    def save_related(self, request, form, formsets, change):
        pass

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            _clean = form.clean

            def clean(this):
                cleaned = _clean(this)
                if not this.errors:
                    try:
                        invitations.check_invite(request.user, cleaned.get("email"), cleaned.get("role"))
                    except PermissionDenied as exc:
                        raise ValidationError(str(exc)) from exc
                return cleaned

            form.clean = clean
            # The open-invitation constraint would refuse a re-invite: the service resends instead.
            form.validate_constraints = lambda this: None
        return form

    @admin.action(description="Resend the selected invitations")
    def resend(self, request, queryset):
        _run(self, request, queryset, lambda inv: invitations.resend_invitation(request.user, inv), "Resent")

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request, queryset):
        _run(self, request, queryset, lambda inv: invitations.revoke_invitation(request.user, inv), "Revoked")


admin.site.register(User, UserAdmin)
tenant_admin_site.register(User, TenantUserAdmin)
tenant_admin_site.register(Invitation, InvitationAdmin)

# API tokens are not an admin's business: knox's admin shows, searches and links every token by
# its digest (the primary key, so in every URL), and its add form mints a token for someone else
# and shows it to the operator. Tokens are revoked through the API, by a password change or by
# deactivating the account. (knox.admin, imported above, has registered itself by now.)
admin.site.unregister(AuthToken)
