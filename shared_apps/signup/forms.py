from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError

from shared_apps.signup.services import normalize_slug
from tenants.services import check_new_tenant

# Provisioning's error keys, as this form names its fields.
PROVISIONING_FIELDS = {"slug": "slug", "name": "company_name", "owner_email": "email"}


class SignupForm(forms.Form):
    """The signup form. Its rules are provisioning's (``tenants.services.check_new_tenant``) and
    Django's password validators; the lengths here only keep a huge value away from them."""

    company_name = forms.CharField(
        label="Company name", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "organization"})
    )
    slug = forms.CharField(
        label="Workspace address",
        # A generous cap: provisioning's own rule says "3 to 40 characters" with its message.
        max_length=200,
        help_text="Lowercase letters, digits and hyphens; your workspace's subdomain.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    owner_name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label="Password",
        max_length=256,
        strip=False,
        help_text=password_validators_help_text_html(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_slug(self):
        return normalize_slug(self.cleaned_data["slug"])

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        if all(name in data for name in ("slug", "company_name", "email")):
            try:
                check_new_tenant(data["slug"], data["company_name"], data["email"])
            except ValidationError as exc:
                self.add_provisioning_errors(exc)
        if "password" in data:
            User = get_user_model()
            user = User(email=data.get("email", ""), full_name=data.get("owner_name", ""))
            try:
                validate_password(data["password"], user)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data

    def add_provisioning_errors(self, exc: ValidationError) -> None:
        """Provisioning's field errors (a refusal by ``check_new_tenant`` or ``provision_tenant``)
        next to this form's fields."""
        by_field = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for key, messages in by_field.items():
            field = PROVISIONING_FIELDS.get(key)
            for message in messages:
                self.add_error(field, message)
