"""The global admin's domains: read-only below each tenant, and a Domains page where an operator
adds, verifies, makes primary and removes custom domains, each through tenants.domains.

One rule for the admin: a domain is never written by a form save. Adding goes through
``add_custom_domain`` (its checks are the form's errors), removing through
``remove_custom_domain``, and nothing of an existing domain is edited in a form.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from tenants import domains
from tenants.models import Domain, Tenant


@admin.display(description="Verification")
def verification_state(domain: Domain) -> str:
    if domain.verified_at:
        return "verified"
    return f"pending: {domain.verification_error}" if domain.verification_error else "pending"


class DomainInline(admin.TabularInline):
    """A tenant's domains, read-only: changes go through the Domains page's actions."""

    model = Domain
    extra = 0
    fields = ("domain_link", "is_primary", "verification_state", "verification_token", "created_at")
    readonly_fields = fields
    can_delete = False

    @admin.display(description="Domain")
    def domain_link(self, domain):
        url = reverse("admin:tenants_domain_change", args=[domain.pk])
        return format_html('<a href="{}">{}</a>', url, domain.domain)

    verification_state = staticmethod(verification_state)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NewDomainForm(forms.ModelForm):
    """The "add domain" form: a tenant and a hostname, checked by the service."""

    class Meta:
        model = Domain
        fields = ("tenant", "domain")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = Tenant.objects.exclude(status=Tenant.Status.DELETED)
        self.fields["domain"].help_text = (
            "e.g. shop.example.com. It routes once verified: its owner points it at the platform, "
            "or publishes its token in a TXT record (the domain's page says how)."
        )

    def validate_unique(self):
        pass  # the service's check says "taken", in its words

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["domain"] = domains.check_custom_domain(data["tenant"], data["domain"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    self.add_error(field if field in self.fields else None, error)
        return data


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary", "verification_state", "created_at")
    list_filter = ("is_primary", ("verified_at", admin.EmptyFieldListFilter))
    search_fields = ("domain", "tenant__slug")
    list_select_related = ("tenant",)
    fields = (
        "domain",
        "tenant",
        "is_primary",
        "verification_state",
        "verification_token",
        "verification_url",
        "instructions",
        "verified_at",
        "verification_checked_at",
        "verification_error",
        "public_id",
        "created_at",
    )
    readonly_fields = fields
    actions = ("verify_selected", "make_primary")

    verification_state = staticmethod(verification_state)

    @admin.display(description="Verification URL")
    def verification_url(self, domain):
        return domains.verification_url(domain) if domain.verification_token else "-"

    @admin.display(description="What the domain's owner does")
    def instructions(self, domain):
        return domains.instructions(domain)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            return NewDomainForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ("tenant", "domain") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False  # read-only page; the actions change domains through the service

    def has_delete_permission(self, request, obj=None):
        # The tenant's own subdomain is never removed.
        return super().has_delete_permission(request, obj) and (obj is None or domains.is_custom(obj))

    def save_model(self, request, obj, form, change):
        if change:  # no change form saves (has_change_permission), but never a raw save either
            return
        created = domains.add_custom_domain(form.cleaned_data["tenant"], form.cleaned_data["domain"])
        obj.pk, obj.public_id = created.pk, created.public_id

    def delete_model(self, request, obj):
        domains.remove_custom_domain(obj)

    def delete_queryset(self, request, queryset):
        for domain in queryset.select_related("tenant"):
            if domains.is_custom(domain):
                domains.remove_custom_domain(domain)

    @admin.action(description="Verify the selected domains now")
    def verify_selected(self, request, queryset):
        for domain in queryset.select_related("tenant"):
            if domains.verify_domain(domain):
                self.message_user(request, f"{domain.domain} is verified.", messages.SUCCESS)
            else:
                self.message_user(
                    request, f"{domain.domain} is not verified: {domain.verification_error}", messages.WARNING
                )

    @admin.action(description="Make the selected domain its tenant's primary")
    def make_primary(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one domain.", messages.ERROR)
            return
        domain = queryset.select_related("tenant").get()
        try:
            domains.set_primary_domain(domain)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"{domain.domain} is now {domain.tenant.slug}'s primary domain.")
