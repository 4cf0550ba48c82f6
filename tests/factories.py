"""factory_boy factories for the models of the tenant apps.

Rows are made in the current schema, or in ``tenant``'s when a factory is called with
``tenant=...`` (sub-factories then use it too):

    ProjectFactory(tenant=tenant, name="Launch")
    TaskFactory(tenant=tenant, assignee=member)          # its project and creator made alongside
    UserFactory(tenant=tenant, role=Role.MEMBER)         # through the accounts service, like the app

Users with a role go through ``create_user_with_role`` (the role groups and staff flag are the
service's rules, not restated here). Tenants are not a factory: the session's acme and globex are
provisioned through ``tenants.services.provision_tenant`` (tests/conftest.py), and a test that
needs another tenant calls that service.
"""

from datetime import timedelta

import factory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import tenant_context
from factory.django import DjangoModelFactory

from tenant_apps.accounts.invitations import hash_token
from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects.models import Comment, Project, Task

PASSWORD = "a-long-test-password"


class TenantModelFactory(DjangoModelFactory):
    """Makes its row, and every sub-factory's, in ``tenant``'s schema when given one."""

    class Meta:
        abstract = True

    @classmethod
    def _generate(cls, strategy, params):
        tenant = params.pop("tenant", None)
        if tenant is None:
            return super()._generate(strategy, params)
        with tenant_context(tenant):
            return super()._generate(strategy, params)


class UserFactory(TenantModelFactory):
    """A user; with ``role`` (owner, admin, member) made by the accounts service, without one a
    bare account that holds no role. The password is PASSWORD unless given."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = ""
    password = PASSWORD
    role = None

    @classmethod
    def _create(cls, model_class, *args, role=None, password=PASSWORD, **kwargs):
        if role is not None:
            from tenant_apps.accounts.services import create_user_with_role

            user = create_user_with_role(
                kwargs.pop("email"), role, password=password, full_name=kwargs.pop("full_name", "")
            )
            if kwargs:
                for name, value in kwargs.items():
                    setattr(user, name, value)
                user.save(update_fields=[*kwargs, "updated_at"])
            return user
        return model_class.objects.create_user(kwargs.pop("email"), password, **kwargs)


class InvitationFactory(TenantModelFactory):
    """An open invitation. Its link's raw token (only its hash is stored) is ``invitation.raw_token``."""

    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.MEMBER
    raw_token = factory.Sequence(lambda n: f"test-invitation-token-{n:06d}")
    token_hash = factory.LazyAttribute(lambda o: hash_token(o.raw_token))
    expires_at = factory.LazyFunction(
        lambda: timezone.now() + timedelta(days=settings.INVITATION_EXPIRY_DAYS)
    )
    sent_at = factory.LazyFunction(timezone.now)
    send_count = 1

    @classmethod
    def _build(cls, model_class, *args, raw_token, **kwargs):
        invitation = super()._build(model_class, *args, **kwargs)
        invitation.raw_token = raw_token
        return invitation

    @classmethod
    def _create(cls, model_class, *args, raw_token, **kwargs):
        invitation = super()._create(model_class, *args, **kwargs)
        invitation.raw_token = raw_token
        return invitation


class ProjectFactory(TenantModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    description = ""
    created_by = None


class TaskFactory(TenantModelFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    created_by = None
    assignee = None


class CommentFactory(TenantModelFactory):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    author = None
    body = factory.Sequence(lambda n: f"Comment {n}")


class OutboxMessageFactory(TenantModelFactory):
    """An outbox row as queue_email would leave it (queued), without enqueuing a task."""

    class Meta:
        model = OutboxMessage

    to = factory.LazyFunction(lambda: ["ann@example.com"])
    from_email = "Acme <no-reply@platform.test>"
    template = "outboxtest/hello"
    subject = "Hello"
    body_text = "Hi Ann, plain text."
    body_html = "<p>Hi <b>Ann</b></p>"
