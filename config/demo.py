"""Demo data for `manage.py dev`: an operator, the root site's starting pages, and two tenants, each
with an owner, a member and a few projects.

It lives in config, beside the embedded servers of the same command, because it spans the layers:
the tenancy core provisions the tenants, the accounts and projects apps fill them.

Seeding is idempotent: what exists is left as it is, so a second run (or a changed password) is
never overwritten.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.site_pages.seed import seed_site_pages
from tenant_apps.accounts.roles import Role
from tenant_apps.accounts.services import create_user_with_role
from tenant_apps.projects.models import Comment, Project, Task
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
    # The root domain's pages (home, pricing, docs, changelog), which operators edit at /cms/.
    seed_site_pages()
    logins.append(
        Login("operator (site pages, Wagtail)", base_url(None, "/cms/"), OPERATOR_EMAIL, DEMO_PASSWORD)
    )

    for slug, name in DEMO_TENANTS:
        owner_email, member_email = f"owner@{slug}.example", f"member@{slug}.example"
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            tenant = provision_tenant(
                slug, name, owner_email, owner_password=DEMO_PASSWORD, owner_name=f"{name} Owner"
            ).tenant
        with tenant_context(tenant):
            if not User.objects.filter(email=member_email).exists():
                member = create_user_with_role(member_email, Role.MEMBER, full_name=f"{name} Member")
                member.set_password(DEMO_PASSWORD)  # a demo password, deliberately not validated
                member.save(update_fields=["password"])
            _seed_projects(name)
        logins.append(
            Login(
                f"{slug} owner (tenant admin)",
                base_url(tenant.primary_host, "/admin/"),
                owner_email,
                DEMO_PASSWORD,
            )
        )
        logins.append(
            Login(f"{slug} member", base_url(tenant.primary_host, "/"), member_email, DEMO_PASSWORD)
        )
    return logins


def _seed_projects(company: str) -> None:
    """A few projects and tasks, once per tenant (skipped when the tenant has any project)."""
    if Project.objects.exists():
        return
    User = get_user_model()
    owner = User.objects.filter(groups__name=Role.OWNER).order_by("pk").first()
    member = User.objects.filter(groups__name=Role.MEMBER).order_by("pk").first()
    today = timezone.localdate()
    plan = {
        f"{company} website relaunch": [
            ("Write the new home page copy", "doing", Task.Priority.HIGH, member, 1),
            ("Choose the photos", "todo", Task.Priority.NORMAL, member, 3),
            ("Set up redirects from old URLs", "todo", Task.Priority.URGENT, owner, 0),
            ("Agree on the colour palette", "done", Task.Priority.NORMAL, owner, -5),
        ],
        "Quarterly planning": [
            ("Collect team goals", "todo", Task.Priority.NORMAL, owner, 7),
            ("Book the offsite venue", "todo", Task.Priority.LOW, member, None),
        ],
    }
    for project_name, tasks in plan.items():
        project = Project.objects.create(
            name=project_name, created_by=owner, description=f"Demo project of {company}."
        )
        for title, status, priority, assignee, due_in in tasks:
            task = Task.objects.create(
                project=project,
                title=title,
                status=status,
                priority=priority,
                assignee=assignee,
                created_by=owner,
                due_date=today + datetime.timedelta(days=due_in) if due_in is not None else None,
            )
            if status == "doing":
                Comment.objects.create(task=task, author=owner, body="First draft by Friday?")
