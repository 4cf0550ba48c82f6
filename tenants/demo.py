"""Demo data for `manage.py dev`: an operator and two tenants, each with an owner and a member.

Seeding is idempotent: what exists is left as it is, so a second run (or a changed password) is
never overwritten.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from tenant_apps.accounts.roles import Role
from tenant_apps.accounts.services import create_user_with_role
from tenants.models import Tenant
from tenants.services import provision_tenant

DEMO_PASSWORD = "demo-password"
OPERATOR_EMAIL = "operator@platform.example"
DEMO_TENANTS = [("acme", "Acme"), ("globex", "Globex")]


@dataclass(frozen=True)
class Login:
    where: str
    url: str
    email: str
    password: str


def seed_demo(base_url) -> list[Login]:
    """Create what is missing and return every demo login. ``base_url(host, path)`` builds URLs."""
    User = get_user_model()
    if not User.objects.filter(email=OPERATOR_EMAIL).exists():
        User.objects.create_superuser(OPERATOR_EMAIL, DEMO_PASSWORD, full_name="Platform Operator")
    logins = [Login("operator (global admin)", base_url(None, "/admin/"), OPERATOR_EMAIL, DEMO_PASSWORD)]

    for slug, name in DEMO_TENANTS:
        owner_email, member_email = f"owner@{slug}.example", f"member@{slug}.example"
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            tenant = provision_tenant(slug, name, owner_email, owner_password=DEMO_PASSWORD,
                                      owner_name=f"{name} Owner").tenant
        with tenant_context(tenant):
            if not User.objects.filter(email=member_email).exists():
                member = create_user_with_role(member_email, Role.MEMBER, full_name=f"{name} Member")
                member.set_password(DEMO_PASSWORD)  # a demo password, deliberately not validated
                member.save(update_fields=["password"])
        logins.append(Login(f"{slug} owner (tenant admin)", base_url(tenant.primary_host, "/admin/"),
                            owner_email, DEMO_PASSWORD))
        logins.append(Login(f"{slug} member", base_url(tenant.primary_host, "/"), member_email, DEMO_PASSWORD))
    return logins
