"""The outbox in each tenant's admin: what was sent, to whom, what happened to it.

Read-only (rows change only through the outbox's services and the worker), with the rendered text
and HTML shown on the detail page, which is also how to read sent mail under `manage.py dev`
without a mail catcher. One action, "Resend", queues failed messages again through the service.

A sensitive message (a one-time link: password reset, set-password, invitation) is shown redacted
to everyone: the row never holds its secret in its bodies, and its ``secret_values`` column is
never displayed (and, being a secret column, the site's SecretFieldsGuard refuses any lookup,
search or ordering through it).
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from tenant_apps.outbox import services
from tenant_apps.outbox.models import OutboxMessage
from tenants.admin_site import tenant_admin_site


@admin.register(OutboxMessage, site=tenant_admin_site)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "recipients",
        "template",
        "status",
        "sensitive",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "template", "sensitive", "created_at")
    search_fields = ("subject", "to", "provider_message_id", "=public_id")
    date_hierarchy = "created_at"
    actions = ("resend",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "status",
                    "recipients",
                    "from_email",
                    "reply_to",
                    "subject",
                    "template",
                    "sensitive",
                )
            },
        ),
        ("Content", {"fields": ("text_part", "html_preview")}),
        (
            "Delivery",
            {
                "fields": (
                    "attempts",
                    "last_error",
                    "provider_message_id",
                    "dedup_key",
                    "next_attempt_at",
                    "created_at",
                    "updated_at",
                    "sent_at",
                )
            },
        ),
    )
    # Every field shown is read-only: rows change only through the outbox's services.
    readonly_fields = tuple(name for _title, options in fieldsets for name in options["fields"])

    @admin.display(description="To")
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description="Text part")
    def text_part(self, obj):
        return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', obj.readable_bodies()[0])

    @admin.display(description="HTML part")
    def html_preview(self, obj):
        html = obj.readable_bodies()[1]
        if not html:
            return "-"
        # srcdoc is escaped by format_html; an empty sandbox runs no script and reaches nothing.
        return format_html(
            '<iframe sandbox="" srcdoc="{}" style="width:100%;height:24em;border:1px solid #ccc"></iframe>',
            html,
        )

    def has_view_permission(self, request, obj=None):
        return services.can_read_outbox(request.user)

    def has_module_permission(self, request):
        return services.can_read_outbox(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return services.can_resend_messages(request.user)

    @admin.action(description="Resend the selected failed messages", permissions=["resend"])
    def resend(self, request, queryset):
        resent, refused = 0, []
        failed = list(queryset.filter(status=OutboxMessage.Status.FAILED))
        for message in failed:
            try:
                resent += services.resend(request.user, message)
            except services.CannotResend as exc:
                refused.append(f"“{message.subject}”: {exc}")
        skipped = queryset.count() - len(failed)
        if resent:
            self.message_user(request, f"Queued {resent} message(s) again.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, f"Not resent: {reason}", messages.WARNING)
        if skipped:
            self.message_user(request, f"Skipped {skipped} message(s) that had not failed.", messages.WARNING)
