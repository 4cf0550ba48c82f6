"""The pages of a workspace's accounts, on the tenant's subdomain and branded with its name."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from tenant_apps.accounts import handoff, invitations, services
from tenant_apps.accounts.forms import AcceptInvitationForm, SignInForm, TenantPasswordResetForm
from tenant_apps.accounts.roles import role_of
from tenant_apps.accounts.sign_in import start_session
from tenant_apps.accounts.user_sessions import end_other_sessions
from tenants.limits import PlanLimitReached
from tenants.request_guards import client_address


@login_required
def home(request):
    return render(request, "accounts/home.html", {"role": role_of(request.user)})


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        # The one door every sign-in goes through (two-factor's code step included).
        return start_session(self.request, form.get_user(), self.get_success_url())


@never_cache
@csrf_protect
def sign_out(request):
    """GET asks for confirmation, POST signs out (a link or an image must not sign anyone out)."""
    if request.method == "POST":
        logout(request)
        messages.info(request, "You are signed out.")
        return redirect("accounts:sign_in")
    return render(request, "accounts/sign_out.html")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)  # this session stays signed in (a new key)
        # The others stopped working with the old password's hash; they leave the profile's list.
        end_other_sessions(self.request.user, self.request.session.session_key)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Always answers "sent", whether or not the address has an account (no probing)."""

    template_name = "accounts/password_reset.html"
    form_class = TenantPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_sent")

    def form_valid(self, form):
        address = client_address(self.request) or ""
        if not services.allow_password_reset_email(form.cleaned_data["email"], address):
            return HttpResponseRedirect(self.get_success_url())
        self.extra_email_context = {"request_tenant": self.request.tenant}
        return super().form_valid(form)


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


@sensitive_post_parameters("password1", "password2")
@never_cache
@csrf_protect
def accept_invitation(request, token):
    invitation = invitations.find_invitation(token)
    if invitation is None:
        return render(
            request,
            "accounts/invitation_closed.html",
            {"message": "This invitation link is not valid."},
            status=404,
        )
    if invitation.status != invitation.Status.PENDING:
        return render(
            request,
            "accounts/invitation_closed.html",
            {"message": invitations.status_message(invitation), "invitation": invitation},
            status=410,
        )

    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_invitation(
                token, form.cleaned_data["full_name"], form.cleaned_data["password1"]
            )
        except PlanLimitReached as exc:
            form.add_error(None, str(exc))  # the page says why, and whom to ask
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(
                        {"password": "password1"}.get(field, field if field in form.fields else None), error
                    )
        else:
            messages.success(request, f"Welcome to {request.tenant.name}.")
            # Straight into the app, signed in (the projects page is the workspace's home).
            return start_session(request, user, reverse("projects:list"))
    return render(request, "accounts/accept_invitation.html", {"form": form, "invitation": invitation})


HANDOFF_INVALID = (
    "This sign-in link is not valid: it was already used, has expired, or is not for this workspace."
)


@never_cache
def login_handoff(request, token):
    """Sign in with a one-time hand-off link (tenant_apps/accounts/handoff.py) and go on to its
    ``next``. GET consumes it: the link arrives by redirect from another host. The response is
    never stored (never_cache: no-store) and sends no Referer onwards, so the token in this URL
    reaches no cache, proxy or third party."""
    try:
        result = handoff.consume_login_handoff(token)
    except handoff.HandoffUserInactive:
        response = render(
            request,
            "accounts/handoff_invalid.html",
            {"message": "This account is deactivated. Ask an owner of the workspace to reactivate it."},
            status=400,
        )
    except handoff.HandoffInvalid:
        response = render(
            request,
            "accounts/handoff_invalid.html",
            {"message": HANDOFF_INVALID},
            status=404,
        )
    else:
        # Someone else's session on this browser is ended, not inherited, and the key is new.
        response = start_session(request, result.user, result.next_path)
    response["Referrer-Policy"] = "no-referrer"
    return response
