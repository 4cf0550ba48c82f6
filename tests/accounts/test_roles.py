"""Roles: owner, admin and member are groups with permissions; the rules live in the services."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from tenant_apps.accounts import services
from tenant_apps.accounts.roles import Role, role_of

pytestmark = pytest.mark.django_db


def refreshed(tenant, user):
    with tenant_context(tenant):
        return get_user_model().objects.prefetch_related("groups").get(pk=user.pk)


@pytest.mark.parametrize("schema", ["public", "acme", "globex"])
def test_every_schema_has_the_three_role_groups_with_their_permissions(tenant, other_tenant, schema):
    connection.set_schema(schema)
    # The accounts app's own permissions (other apps add theirs to the same groups).
    perms = {
        g.name: {p.codename for p in g.permissions.filter(content_type__app_label="accounts")}
        for g in Group.objects.all()
    }
    assert {"owner", "admin", "member"} <= set(perms)
    assert {"manage_users", "manage_owners"} <= perms["owner"]
    assert "manage_users" in perms["admin"] and "manage_owners" not in perms["admin"]
    assert perms["member"] == {"view_user"}


def test_the_provisioned_owner_has_the_owner_role_and_is_staff_but_not_superuser(tenant, owner):
    with tenant_context(tenant):
        assert role_of(owner) == Role.OWNER
        assert owner.is_staff and not owner.is_superuser
        assert owner.has_perm("accounts.manage_owners")


def test_a_member_is_not_staff_and_cannot_manage_users(tenant, member):
    with tenant_context(tenant):
        assert role_of(member) == Role.MEMBER
        assert not member.is_staff
        assert not services.can_manage_users(member)


def test_an_owner_promotes_a_member_to_admin(tenant, owner, member):
    with tenant_context(tenant):
        services.set_role(owner, member, Role.ADMIN)
        member = refreshed(tenant, member)
        assert role_of(member) == Role.ADMIN and member.is_staff
        assert [g.name for g in member.groups.all()] == ["admin"]


def test_an_admin_manages_members_but_cannot_grant_owner(tenant, admin, member):
    with tenant_context(tenant):
        services.set_role(admin, member, Role.ADMIN)
        with pytest.raises(PermissionDenied):
            services.set_role(admin, member, Role.OWNER)
        with pytest.raises(PermissionDenied):
            services.set_role(admin, admin, Role.OWNER)


def test_an_admin_cannot_demote_an_owner(tenant, admin, owner):
    with tenant_context(tenant):
        with pytest.raises(PermissionDenied):
            services.set_role(admin, owner, Role.MEMBER)
        with pytest.raises(PermissionDenied):
            services.deactivate_user(admin, owner)


def test_a_member_cannot_change_roles(tenant, member, admin):
    with tenant_context(tenant):
        with pytest.raises(PermissionDenied):
            services.set_role(member, admin, Role.MEMBER)
        with pytest.raises(PermissionDenied):
            services.set_role(member, member, Role.ADMIN)


def test_the_last_owner_cannot_be_demoted(tenant, owner):
    with tenant_context(tenant):
        with pytest.raises(ValidationError) as error:
            services.set_role(owner, owner, Role.ADMIN)
        assert "at least one owner" in str(error.value)
        assert role_of(refreshed(tenant, owner)) == Role.OWNER


def test_the_last_owner_cannot_be_deactivated(tenant, owner):
    with tenant_context(tenant):
        with pytest.raises(ValidationError):
            services.deactivate_user(owner, owner)
        assert refreshed(tenant, owner).is_active


def test_an_owner_can_step_down_once_there_is_another_owner(tenant, owner, member):
    with tenant_context(tenant):
        services.set_role(owner, member, Role.OWNER)
        services.set_role(owner, owner, Role.MEMBER)
        assert role_of(refreshed(tenant, owner)) == Role.MEMBER
        # Now the former member is the last owner.
        new_owner = refreshed(tenant, member)
        with pytest.raises(ValidationError):
            services.set_role(new_owner, new_owner, Role.ADMIN)


def test_a_deactivated_owner_does_not_count_as_the_other_owner(tenant, owner, member):
    with tenant_context(tenant):
        services.set_role(owner, member, Role.OWNER)
        services.deactivate_user(owner, refreshed(tenant, member))
        with pytest.raises(ValidationError):
            services.set_role(owner, owner, Role.ADMIN)


def test_an_unknown_role_is_a_validation_error(tenant, owner, member):
    with tenant_context(tenant):
        with pytest.raises(ValidationError) as error:
            services.set_role(owner, member, "emperor")
        assert "role" in error.value.message_dict


def test_demotion_removes_superuser_powers(tenant, owner, make_user):
    with tenant_context(tenant):
        legacy = make_user("legacy@acme.test", tenant, is_staff=True, is_superuser=True)
        services.set_role(owner, legacy, Role.MEMBER)
        legacy = refreshed(tenant, legacy)
        assert not legacy.is_superuser and not legacy.is_staff
        assert not legacy.has_perm("accounts.manage_users")


def test_deactivating_a_user_revokes_their_tokens(tenant, owner, member):
    from knox.models import AuthToken

    with tenant_context(tenant):
        AuthToken.objects.create(user=member)
        services.deactivate_user(owner, member)
        assert not AuthToken.objects.filter(user=member).exists()
        assert not refreshed(tenant, member).is_active


def test_creating_a_user_with_a_weak_password_is_refused(tenant):
    with tenant_context(tenant):
        with pytest.raises(ValidationError) as error:
            services.create_user_with_role("weak@acme.test", Role.MEMBER, password="123")
        assert "password" in error.value.message_dict
        assert not get_user_model().objects.filter(email="weak@acme.test").exists()


def test_the_demo_seed_gives_the_demo_member_the_member_role(tenant):
    from config.demo import seed_demo

    seed_demo(lambda host, path: f"http://{host}{path}")
    with tenant_context(tenant):
        demo_member = get_user_model().objects.get(email="member@acme.example")
        assert role_of(demo_member) == Role.MEMBER and demo_member.check_password("demo-password")


def test_provisioning_refuses_a_weak_owner_password_and_creates_nothing(db):
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    with pytest.raises(ValidationError) as error:
        provision_tenant("weakling", "Weakling", "o@weakling.test", owner_password="123")
    assert "password" in error.value.message_dict
    assert not Tenant.objects.filter(slug="weakling").exists()


def test_the_role_groups_migration_reverses_and_applies_again(tenant):
    from django.db.migrations.executor import MigrationExecutor

    names = ["owner", "admin", "member"]
    with tenant_context(tenant):
        MigrationExecutor(connection).migrate([("accounts", "0002_invitation_and_role_permissions")])
        assert not Group.objects.filter(name__in=names).exists()
        MigrationExecutor(connection).migrate([("accounts", "0003_role_groups")])
        assert sorted(Group.objects.filter(name__in=names).values_list("name", flat=True)) == sorted(names)
        assert Group.objects.get(name="admin").permissions.filter(codename="manage_users").exists()
