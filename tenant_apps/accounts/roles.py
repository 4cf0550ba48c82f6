"""The three roles of a workspace and what each may do.

A role is a Django group of the same name in the tenant's schema; its permissions are what the
code checks (``user.has_perm``), so the tenant admin and the API agree. The groups are created by
a data migration in every schema the accounts app is migrated into, and a user has at most one.
"""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


VIEW_USERS = "accounts.view_user"
MANAGE_USERS = "accounts.manage_users"
MANAGE_OWNERS = "accounts.manage_owners"

# Codenames in the accounts app. Owners and admins manage users and invitations; only owners
# grant or take away the owner role (so an admin cannot promote themselves or demote an owner).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OWNER: [
        "view_user",
        "manage_users",
        "manage_owners",
        "view_invitation",
        "add_invitation",
        "change_invitation",
    ],
    Role.ADMIN: ["view_user", "manage_users", "view_invitation", "add_invitation", "change_invitation"],
    Role.MEMBER: ["view_user"],
}

# Owners and admins may use the tenant admin; members only the workspace itself.
STAFF_ROLES = {Role.OWNER, Role.ADMIN}

# When a user somehow holds several role groups, the strongest counts.
_PRECEDENCE = [Role.OWNER, Role.ADMIN, Role.MEMBER]


def role_of(user) -> str | None:
    """The user's role, or None for a user with no role group (or no user at all).

    Reads ``user.groups.all()``, so a list that prefetches ``groups`` costs no query per user.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    names = {group.name for group in user.groups.all()}
    for role in _PRECEDENCE:
        if role.value in names:
            return role.value
    return None
