from django import forms
from django.core.exceptions import ValidationError
from unfold.forms import AuthenticationForm as AdminAuthenticationForm
from unfold.widgets import UnfoldAdminEmailInputWidget, UnfoldAdminTextInputWidget

from tenants.models import Tenant
from tenants.services import can_operate_platform, check_new_tenant
from tenants.slugs import RESERVED_SLUGS


class NewTenantForm(forms.Form):
    """The global admin's "add tenant" form: the same inputs and checks as the CLI and the API."""

    slug = forms.CharField(
        max_length=40,
        help_text="The subdomain: 3-40 lowercase letters, digits and hyphens, starting with a letter. "
        f"Reserved: {', '.join(sorted(RESERVED_SLUGS)[:8])}, ...",
        widget=UnfoldAdminTextInputWidget,
    )
    name = forms.CharField(max_length=100, widget=UnfoldAdminTextInputWidget)
    owner_email = forms.EmailField(
        help_text="Receives a one-time link to set a password.", widget=UnfoldAdminEmailInputWidget
    )

    def __init__(self, *args, instance=None, **kwargs):
        # The admin hands every form an ``instance`` and reads it back (for inlines: none here);
        # the real tenant exists only once the provisioning service has created it.
        super().__init__(*args, **kwargs)
        self.instance = instance if instance is not None else Tenant()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            check_new_tenant(data["slug"], data["name"], data["owner_email"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return data


class OperatorAuthenticationForm(AdminAuthenticationForm):
    """The global admin's sign-in: only an operator (``can_operate_platform``) gets in. Django's
    admin sign-in form, in unfold's look (its subclass only styles the inputs)."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not can_operate_platform(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
