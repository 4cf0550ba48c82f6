"""The team page (/team/): the workspace's members and invitations, for owners and admins.

Each action is a POST that parses its form and calls one service (tenant_apps/accounts/services.py,
invitations.py), the same ones the API and the tenant admin call, so the rules (only owners touch
owners, the last owner stays, the plan's seats) hold here as there. Who may open the page is
``services.can_manage_users``. Answers: a redirect back to /team/ with a message on success; the
page again with the errors beside their fields and 400 for refused input (a plan's limit too);
403 for a refusal of the person (an admin acting on an owner); 404 for an id that is not this
workspace's, exactly as for one that does not exist.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenant_apps.accounts import invitations, services
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import role_of
from tenant_apps.accounts.team_forms import InviteForm, RoleForm, role_form_for
from tenants.limits import PlanLimitReached


def manager_required(view):
    """Signed in (anonymous visitors are sent to sign in) and allowed to manage users (anyone
    else gets a 403 page in the app's look)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not services.can_manage_users(request.user):
            return render(request, "accounts/team/forbidden.html", {"nav": "team"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _user(request, public_id):
    try:
        return services.get_user_for(request.user, public_id)
    except get_user_model().DoesNotExist:
        raise Http404 from None


def _invitation(request, public_id) -> Invitation:
    try:
        return invitations.get_invitation_for(request.user, public_id)
    except Invitation.DoesNotExist:
        raise Http404 from None


def _messages_of(exc: ValidationError) -> list[str]:
    return [message for messages_ in exc.message_dict.values() for message in messages_]


def _page(request, *, invite_form=None, row=None, row_errors=(), errors=(), status=200):
    """The team page. ``row``: the public id of the member or invitation whose action was refused,
    with ``row_errors`` shown beside it; ``errors``: shown above everything."""
    actor = request.user
    members = [
        {
            "user": user,
            "role": role_of(user),
            "can_change": services.can_change_user(actor, user),
            "is_self": user.pk == actor.pk,
            "errors": row_errors if row == user.public_id else (),
        }
        for user in services.users_for(actor)
    ]
    for member in members:
        if member["can_change"]:
            member["role_form"] = role_form_for(actor, member["user"], member["role"])
    invites = [
        {
            "invitation": invitation,
            "status": invitation.status,
            "can_change": services.can_change_invitation(actor, invitation),
            "errors": row_errors if row == invitation.public_id else (),
        }
        for invitation in invitations.invitations_for(actor)
    ]
    context = {
        "nav": "team",
        "members": members,
        "invitations": invites,
        "invite_form": invite_form or InviteForm(actor=actor),
        "errors": errors,
    }
    return render(request, "accounts/team/team.html", context, status=status)


def _status(exc) -> int:
    """400 for input a service refused (a plan with no seat left too: another choice would pass),
    403 for a person who may not do this at all."""
    return 403 if isinstance(exc, PermissionDenied) and not isinstance(exc, PlanLimitReached) else 400


def _refused(request, exc, *, row):
    """The page again, with the service's reason beside the row it refused to change."""
    reasons = _messages_of(exc) if isinstance(exc, ValidationError) else [str(exc)]
    return _page(
        request,
        row=row,
        row_errors=reasons,
        errors=["Nothing was changed: " + reasons[0]],
        status=_status(exc),
    )


@manager_required
@require_GET
def team(request):
    return _page(request)


@manager_required
@require_POST
def invite(request):
    form = InviteForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            invitation = invitations.invite(
                request.user, form.cleaned_data["email"], form.cleaned_data["role"]
            )
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                form.add_error(None, str(exc))
            return _page(request, invite_form=form, status=_status(exc))
        messages.success(request, f"Invitation sent to {invitation.email} ({invitation.role}).")
        return redirect("team:team")
    return _page(request, invite_form=form, status=400)


@manager_required
@require_POST
def change_role(request, public_id):
    user = _user(request, public_id)
    form = RoleForm(request.POST, actor=request.user)
    if not form.is_valid():
        reasons = form.errors.get("role", [])
        return _page(
            request, row=user.public_id, row_errors=reasons, errors=["Nothing was changed."], status=400
        )
    try:
        services.set_role(request.user, user, form.cleaned_data["role"])
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, exc, row=user.public_id)
    messages.success(request, f"{user.email} is now {form.cleaned_data['role']}.")
    return redirect("team:team")


@manager_required
@require_POST
def deactivate(request, public_id):
    user = _user(request, public_id)
    try:
        services.deactivate_user(request.user, user)
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, exc, row=user.public_id)
    messages.success(request, f"{user.email} is deactivated: they can no longer sign in.")
    return redirect("team:team")


@manager_required
@require_POST
def reactivate(request, public_id):
    user = _user(request, public_id)
    try:
        services.reactivate_user(request.user, user)
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, exc, row=user.public_id)
    messages.success(request, f"{user.email} is active again and can sign in.")
    return redirect("team:team")


@manager_required
@require_POST
def resend_invitation(request, public_id):
    invitation = _invitation(request, public_id)
    try:
        invitations.resend_invitation(request.user, invitation)
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, exc, row=invitation.public_id)
    messages.success(request, f"Invitation sent again to {invitation.email}.")
    return redirect("team:team")


@manager_required
@require_POST
def revoke_invitation(request, public_id):
    invitation = _invitation(request, public_id)
    try:
        invitations.revoke_invitation(request.user, invitation)
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, exc, row=invitation.public_id)
    messages.success(request, f"The invitation of {invitation.email} is revoked.")
    return redirect("team:team")
