"""Tenants of the lifecycle tests' own: acme and globex (the session's) are never deleted or renamed."""

from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from tenant_apps.accounts.roles import Role
from tenant_apps.projects import services as projects
from tenants import services
from tests.factories import PASSWORD, UserFactory


def make_tenant(slug: str, name: str | None = None):
    """A tenant provisioned through the service, its owner ``owner@<slug>.test`` with PASSWORD."""
    return services.provision_tenant(
        slug, name or slug.title(), f"owner@{slug}.test", owner_password=PASSWORD
    ).tenant


def owner_of(tenant):
    with tenant_context(tenant):
        return get_user_model().objects.get(email=f"owner@{tenant.slug}.test")


def fill(tenant) -> dict:
    """A project of the owner and a second user, through the services: data to find again."""
    owner = owner_of(tenant)
    with tenant_context(tenant):
        project = projects.create_project(owner, name="Keep me", description="made before the delete")
        member = UserFactory(tenant=tenant, email=f"member@{tenant.slug}.test", role=Role.MEMBER)
    return {"project": project.public_id, "member": member.email}


def read_back(tenant, made: dict) -> dict:
    """What ``fill`` made (``made``), read again from the tenant's schema."""
    from tenant_apps.projects.models import Project

    with tenant_context(tenant):
        return {
            "project": Project.objects.get(public_id=made["project"]).public_id,
            "member": get_user_model().objects.get(email=made["member"]).email,
        }
