from crispy_forms.bootstrap import AppendedText
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Layout, Submit
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

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

    @property
    def helper(self) -> FormHelper:
        """The whole form for ``{% crispy form %}`` on any page of the root domain (the signup
        page, the home): a POST to /signup/. The address gets the live check's status line, which
        the page's script fills in and names in the field's aria-describedby."""
        helper = FormHelper(self)
        helper.form_action = reverse("signup:signup")
        helper.attrs = {"novalidate": True}
        helper.layout = Layout(
            "company_name",
            AppendedText("slug", f".{settings.BASE_DOMAIN}", data_check_url=reverse("signup:check_slug")),
            HTML('<p class="status" id="slug-status" role="status" aria-live="polite"></p>'),
            "owner_name",
            "email",
            "password",
            Submit("create", "Create workspace", css_class="button"),
        )
        return helper

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
