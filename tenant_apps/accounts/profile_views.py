"""The signed-in user's profile (/account/): their name, links to email settings and the password
change, their signed-in sessions and their API tokens, each with revoke.

Everything here is the user's own: sessions and tokens are only ever looked up among
``request.user``'s (tenant_apps/accounts/user_sessions.py, services.tokens_of), in the schema of
the host, so another user's or another workspace's id answers 404, the same as one that does not
exist. Every role sees their own profile, an account without a role included; a signed-out visitor
is sent to sign in. Changes are POSTs; refused input shows the page again with 400.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from knox.models import AuthToken

from tenant_apps.accounts import services, user_sessions
from tenant_apps.accounts.models import UserSession


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=services.FULL_NAME_MAX_LENGTH)


def _page(request, form, status=200):
    current = request.session.session_key
    sessions = user_sessions.listed_sessions(request.user)
    for row in sessions:
        row.is_current = row.session_key == current
    tokens = [
        {"prefix": services.token_prefix(token), "created": token.created, "expiry": token.expiry}
        for token in services.tokens_of(request.user)
    ]
    context = {
        "nav": "profile",
        "form": form,
        "sessions": sessions,
        "tokens": tokens,
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.update_profile(request.user, full_name=form.cleaned_data["full_name"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, "Your name is saved.")
                return redirect("profile:profile")
        return _page(request, form, status=400)
    return _page(request, ProfileForm(initial={"full_name": request.user.full_name}))


@login_required
@require_POST
def revoke_session(request, public_id):
    try:
        row = user_sessions.get_session_for(request.user, public_id)
    except UserSession.DoesNotExist:
        raise Http404 from None
    if row.session_key == request.session.session_key:
        logout(request)  # revoking this browser's own session is signing out
        messages.info(request, "You are signed out.")
        return redirect("accounts:sign_in")
    user_sessions.revoke_session(row)
    messages.success(request, "That session is signed out.")
    return redirect("profile:profile")


@login_required
@require_POST
def revoke_other_sessions(request):
    count = user_sessions.end_other_sessions(request.user, request.session.session_key)
    messages.success(request, f"Signed out everywhere else ({count} session{'' if count == 1 else 's'}).")
    return redirect("profile:profile")


@login_required
@require_POST
def revoke_token(request, prefix):
    try:
        token = services.get_token_for(request.user, prefix)
    except AuthToken.DoesNotExist:
        raise Http404 from None
    services.revoke_token(token)
    messages.success(request, "The API token is revoked.")
    return redirect("profile:profile")


@login_required
@require_POST
def revoke_all_tokens(request):
    count = services.revoke_all_tokens(request.user)
    messages.success(request, f"{count} API token{'' if count == 1 else 's'} revoked.")
    return redirect("profile:profile")
