"""The forms of the team page (/team/): they parse input; the rules stay in the services.

The role select offers only the roles the signed-in person may hand out (``can_grant_role``), so
an admin never sees "Owner". A role posted anyway is still refused by the service.
"""

from crispy_forms.helper import FormHelper
from django import forms

from tenant_apps.accounts import services
from tenant_apps.accounts.roles import Role


def grantable_roles(actor) -> list[tuple[str, str]]:
    """The (value, label) choices of the roles ``actor`` may grant, strongest first."""
    return [(value, label) for value, label in Role.choices if services.can_grant_role(actor, value)]


class _RoleChoice(forms.Form):
    role = forms.ChoiceField(choices=())

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_roles(actor)


class InviteForm(_RoleChoice):
    # An address longer than the column holds (254) is a 400, not a database error.
    email = forms.EmailField(max_length=254)
    field_order = ["email", "role"]

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, actor=actor, **kwargs)
        self.fields["role"].initial = Role.MEMBER


class RoleForm(_RoleChoice):
    """One user's new role (each row of the page has its own form posting ``role``)."""


def role_form_for(actor, member, role: str | None) -> RoleForm:
    """The role select of ``member``'s row on the team page: ids of its own (``role-<public id>``,
    as many forms as rows on one page) and a label for screen readers only, the row saying whose
    role it is to everyone else."""
    form = RoleForm(actor=actor, initial={"role": role}, auto_id=f"%s-{member.public_id}")
    form.fields["role"].label = f"Role of {member.email}"
    # Inside the row's own <form>, which holds the CSRF token and the button.
    form.helper = FormHelper()
    form.helper.form_tag = False
    form.helper.disable_csrf = True
    form.helper.form_show_labels = False
    return form
