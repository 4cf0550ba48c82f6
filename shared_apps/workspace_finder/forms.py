from crispy_forms.bootstrap import AppendedText
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from shared_apps.workspace_finder import services
from tenants.slugs import SLUG_RE


class WorkspaceAddressForm(forms.Form):
    """The address of a workspace (its subdomain); valid when a workspace is there to sign in to.
    ``cleaned_data["tenant"]`` is that workspace."""

    slug = forms.CharField(
        label="Workspace address",
        max_length=200,  # a generous cap; the rule is the slug's own (3 to 40 characters)
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
                "placeholder": "your-company",
            }
        ),
    )

    @property
    def helper(self) -> FormHelper:
        """The whole form for ``{% crispy form %}`` on any page of the root domain: a GET to
        /workspace/sign-in/ (it changes nothing; the address is the visitor's to bookmark)."""
        helper = FormHelper(self)
        helper.form_method = "get"
        helper.form_action = reverse("workspace_sign_in")
        helper.attrs = {"novalidate": True}
        helper.layout = Layout(
            AppendedText("slug", f".{settings.BASE_DOMAIN}"),
            Submit("continue", "Continue", css_class="button"),
        )
        return helper

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        # "acme.example.com" or a pasted URL: the first label of the host is what was meant.
        slug = slug.removeprefix("https://").removeprefix("http://").split("/")[0]
        suffix = f".{settings.BASE_DOMAIN}"
        slug = slug.removesuffix(suffix) if slug.endswith(suffix) else slug.split(".")[0]
        if not SLUG_RE.fullmatch(slug):
            raise ValidationError(
                "A workspace address is 3 to 40 lowercase letters, digits and hyphens, "
                "starting with a letter."
            )
        tenant = services.workspace_for_address(slug)
        if tenant is None:
            # Not hidden: the host itself says whether a workspace is there (services' docstring).
            raise ValidationError(f"There is no workspace at {slug}.{settings.BASE_DOMAIN}.")
        self.cleaned_data["tenant"] = tenant
        return slug


class FindWorkspaceForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    @property
    def helper(self) -> FormHelper:
        """The whole form for ``{% crispy form %}`` on any page of the root domain: a POST to
        /workspace/find/, with its CSRF token."""
        helper = FormHelper(self)
        helper.form_action = reverse("find_workspace")
        helper.attrs = {"novalidate": True}
        helper.add_input(Submit("find", "Email me my workspaces", css_class="button secondary"))
        return helper

    def clean_email(self):
        return services.normalize_email(self.cleaned_data["email"])
