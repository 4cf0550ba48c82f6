"""The accounts side of provisioning a tenant: its first owner.

The tenancy core imports no app, so ``tenants.services.provision_tenant`` reaches this function
through the TENANT_FIRST_OWNER_HOOK setting. It runs inside provisioning's transaction, in the new
tenant's schema: if anything here fails, the tenant, its schema and its domain are rolled back too.
"""

from tenant_apps.accounts import emails, services


def create_first_owner(email: str, *, password: str | None = None, full_name: str = ""):
    """Create the owner and return them. Without a password the owner gets the welcome email with a
    one-time set-password link (queued in this transaction: sent only on commit). The link is not
    returned: it is the owner's alone, and whoever provisions (an operator) never sees it."""
    owner = services.create_owner(email, password, full_name=full_name)
    if password is None:
        emails.owner_welcome(owner, emails.set_password_link(owner))
    return owner
