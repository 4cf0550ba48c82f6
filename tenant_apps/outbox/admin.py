"""The outbox in each tenant's admin: what was sent, to whom, what happened to it.

Read-only (rows change only through the outbox's services and the worker), with the rendered text
and HTML shown on the detail page, which is also how to read sent mail under `manage.py dev`
without a mail catcher. One action, "Resend", queues failed messages again through the service.
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from tenant_apps.outbox import services
from tenant_apps.outbox.models import OutboxMessage
from tenants.admin_site import tenant_admin_site


@admin.register(OutboxMessage, site=tenant_admin_site)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "recipients", "template", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "template", "created_at")
    search_fields = ("subject", "to", "provider_message_id", "=public_id")
    date_hierarchy = "created_at"
    actions = ("resend",)
    fieldsets = (
        (None, {"fields": ("public_id", "status", "recipients", "from_email", "reply_to", "subject", "template")}),
        ("Content", {"fields": ("body_text", "html_preview")}),
        ("Delivery", {"fields": ("attempts", "last_error", "provider_message_id", "dedup_key", "next_attempt_at",
                                 "created_at", "updated_at", "sent_at")}),
    )
    readonly_fields = ("public_id", "status", "recipients", "from_email", "reply_to", "subject", "template",
                       "body_text", "html_preview", "attempts", "last_error", "provider_message_id", "dedup_key",
                       "next_attempt_at", "created_at", "updated_at", "sent_at")

    @admin.display(description="To")
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description="HTML part")
    def html_preview(self, obj):
        if not obj.body_html:
            return "-"
        # srcdoc is escaped by format_html; an empty sandbox runs no script and reaches nothing.
        return format_html('<iframe sandbox="" srcdoc="{}" style="width:100%;height:24em;border:1px solid #ccc">'
                           "</iframe>", obj.body_html)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("outbox.change_outboxmessage")

    @admin.action(description="Resend the selected failed messages", permissions=["resend"])
    def resend(self, request, queryset):
        resent = sum(services.resend(message) for message in queryset.filter(status=OutboxMessage.Status.FAILED))
        skipped = queryset.count() - resent
        if resent:
            self.message_user(request, f"Queued {resent} message(s) again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Skipped {skipped} message(s) that had not failed.", messages.WARNING)
