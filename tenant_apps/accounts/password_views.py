"""The one-time password links of a workspace: an owner's first password (the welcome email of a new
workspace, tenant_apps/accounts/provisioning.py) and a password reset. Both are Django's reset
tokens, at ``accounts/reset/<uidb64>/<token>/`` (URL name ``password_reset_confirm``, which the
emails reverse).

The page says which of the two is happening: a user without a usable password yet is choosing
their first one. A link is good once: setting the password changes the hash the token is made
from. A valid password signs the user in through ``sign_in.start_session`` (a second factor, if
they have one, is still asked) and lands them in the app.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from tenant_apps.accounts import user_sessions
from tenant_apps.accounts.sign_in import start_session

APP_HOME = "projects:list"


class PasswordLinkView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_set.html"

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        if not getattr(self, "validlink", False) and response.status_code == 200:
            # An unknown, used or expired link: a page that says so, and a way forward.
            response.status_code = 404
        return response

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # A deactivated account's link (mailed before the deactivation) opens nothing.
        return user if user is not None and user.is_active else None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = getattr(self, "user", None)
        context["first_password"] = bool(user is not None and not user.has_usable_password())
        return context

    def form_valid(self, form):
        first_password = not self.user.has_usable_password()
        user = form.save()
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        # Sessions opened with the old password stop working (Django checks the password's hash);
        # their rows go too, so the profile does not list them.
        user_sessions.end_other_sessions(user, None)
        if first_password:
            messages.success(self.request, f"Your password is set. Welcome to {self.request.tenant.name}.")
        else:
            messages.success(self.request, "Your password has been changed.")
        return start_session(self.request, user, reverse(APP_HOME))


@never_cache
def password_link_done(request):
    """Where Django's flow would land after a reset (``password_reset_complete``); ours lands in the
    app, so this page only serves an old bookmark."""
    return render(request, "accounts/password_set_done.html")
