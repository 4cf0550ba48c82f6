"""A tenant's security policy: data on its (public) Tenant row, written only here."""

from tenants.models import Tenant


def set_two_factor_required(tenant: Tenant, required: bool) -> None:
    """Require (or stop requiring) two-factor sign-in of every user of ``tenant``. Who may, and
    when, is the accounts app's rule (``tenant_apps.accounts.two_factor.set_policy``). Saving the
    row forgets its cached hosts (tenants.models), so the next request on any of them sees it."""
    tenant.two_factor_required = bool(required)
    tenant.save(update_fields=["two_factor_required"])
