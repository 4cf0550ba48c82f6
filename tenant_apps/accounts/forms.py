from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenant_apps.accounts import emails


class SignInForm(AuthenticationForm):
    """Django's sign-in form with the field labelled for what it is: the email address."""

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


class TenantPasswordResetForm(PasswordResetForm):
    """Sends the reset link through accounts.emails instead of Django's own template."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context["user"]
        path = reverse(
            "password_reset_confirm",
            urlconf=settings.ROOT_URLCONF,
            kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": context["token"]},
        )
        emails.password_reset(user, context["request_tenant"].url(path))


class AcceptInvitationForm(forms.Form):
    label_suffix = ""  # "Your name", as every other form of the app labels its fields
    full_name = forms.CharField(label="Your name", max_length=150)
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords do not match.")
        return cleaned
