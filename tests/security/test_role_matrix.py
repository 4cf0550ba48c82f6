"""Who may do what, everywhere: the role matrix of both admin sites and both APIs, as data.

For every model registered on an admin site and every API route, the matrices below say which
personas may list, read, add, change and delete (and do the route's own actions: archive, resend,
suspend...), and which fields a reader sees. The tests send each request as each persona -- acme's
owner, admin and member, ``nobody`` (an acme account without a role), an outsider (no account),
the other tenant (globex's owner, with its own session and token) and an operator -- each in a
savepoint that is rolled back, and compare what happened with the matrix. A model registered on
an admin site, or an API route, that the matrix does not list fails
``test_the_matrix_lists_every_admin_model_and_api_route``.

The expectations come from the README's rules: owners and admins manage users and invitations,
only owners grant the owner role; every role sees the directory and all projects and edits tasks;
only owners and admins archive or delete projects (and delete others' tasks); an account without
a role sees nothing; the outbox is read-only in the admin; another tenant's or the operator's
credentials mean nothing on acme (and acme's nothing on the root domain); no one sees a secret.
"""

import json
import re
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.storage import storages
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, tenant_context
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken

from tenant_apps.accounts import invitations
from tenant_apps.accounts.models import UserSession
from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenant_apps.projects import services as projects
from tenants import domains, exports
from tenants.models import Domain, TenantExport
from tests.factories import PASSWORD
from tests.graphql.operations import OPERATIONS as GRAPHQL
from tests.security import walk

pytestmark = pytest.mark.django_db

PERSONAS = ["owner", "admin", "member", "nobody", "outsider", "other tenant", "operator"]
MANAGERS = {"owner", "admin"}
ROLES = {"owner", "admin", "member"}
SIGNED_IN = ROLES | {"nobody"}  # an acme account, with or without a role
NO_ONE: set[str] = set()


# --- The matrices ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminRules:
    list: set[str]
    read: set[str]
    add: set[str]
    change: set[str]
    delete: set[str]
    fields: frozenset[str]  # what a reader sees on the change page
    columns: frozenset[str]  # what a reader sees in the list


ADMIN_ACTIONS = ("list", "read", "add", "change", "delete")


def admin_rules(fields=(), columns=(), **allowed) -> AdminRules:
    """``admin_rules(list=MANAGERS, read=MANAGERS, fields=..., columns=...)``; unnamed acts: no one."""
    return AdminRules(
        **{a: set(allowed.get(a, NO_ONE)) for a in ADMIN_ACTIONS},
        fields=frozenset(fields),
        columns=frozenset(columns),
    )


TENANT_ADMIN = {
    # People join through invitations and leave by deactivation: no add, no delete.
    "accounts.user": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        change=MANAGERS,
        fields={"email", "full_name", "role", "is_active", "public_id", "last_login", "created_at"},
        columns={"email", "full_name", "role", "is_active", "last_login", "created_at"},
    ),
    # Revoked, not deleted; the token's hash is never shown.
    "accounts.invitation": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        add=MANAGERS,
        change=MANAGERS,
        fields={
            "email",
            "role",
            "status",
            "invited_by",
            "expires_at",
            "sent_at",
            "send_count",
            "accepted_at",
            "revoked_at",
            "created_at",
        },
        columns={"email", "role", "status", "invited_by", "expires_at", "accepted_at", "revoked_at"},
    ),
    # Read-only: rows change only through the outbox's services and the worker.
    "outbox.outboxmessage": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        fields={
            "public_id",
            "status",
            "sensitive",
            "recipients",
            "from_email",
            "reply_to",
            "subject",
            "template",
            "text_part",
            "html_preview",
            "attempts",
            "last_error",
            "provider_message_id",
            "dedup_key",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "sent_at",
        },
        columns={
            "subject",
            "recipients",
            "template",
            "status",
            "sensitive",
            "attempts",
            "created_at",
            "sent_at",
        },
    ),
    # The change page lists the project's tasks (read-only) below its own fields.
    "projects.project": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        add=MANAGERS,
        change=MANAGERS,
        delete=MANAGERS,
        fields={
            "name",
            "description",
            "archived",
            "archived_at",
            "created_by",
            "public_id",
            "created_at",
            "updated_at",
            "title",
            "status",
            "priority",
            "assignee",
            "due_date",
        },
        columns={"name", "archived", "created_by", "created_at"},
    ),
    "projects.task": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        add=MANAGERS,
        change=MANAGERS,
        delete=MANAGERS,
        fields={
            "project",
            "title",
            "description",
            "status",
            "priority",
            "assignee",
            "due_date",
            "created_by",
            "public_id",
            "created_at",
            "updated_at",
            "author",
            "body",
        },
        columns={"title", "project", "status", "priority", "assignee", "due_date", "created_at"},
    ),
    # Comments are not edited, only added and (by owners and admins) deleted.
    "projects.comment": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        add=MANAGERS,
        delete=MANAGERS,
        fields={"task", "author", "body", "public_id", "created_at", "updated_at"},
        columns={"task", "author", "created_at"},
    ),
    # Each user's own (their email settings page): the admin only shows them.
    "projects.notificationpreferences": admin_rules(
        list=MANAGERS,
        read=MANAGERS,
        fields={"user", "assignment", "comments", "digest"},
        columns={"user", "assignment", "comments", "digest"},
    ),
}

OPERATOR = {"operator"}
OTP_SEEN = {"user", "name", "confirmed", "created_at", "last_used_at"}
AXES_SEEN = {"username", "path_info", "user_agent", "ip_address", "http_accept"}
GLOBAL_ADMIN = {
    "tenants.tenant": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        add=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        # The change page lists the tenant's domains (domain, is_primary) below its own fields.
        fields={
            "name",
            "slug",
            "schema_name",
            "public_id",
            "status",
            "suspended_reason",
            "deleted_at",
            "plan",
            "max_users",
            "max_projects",
            "max_storage_mb",
            "plan_usage",
            "branding",
            "email_from_name",
            "email_reply_to",
            "user_count",
            "created_at",
            "updated_at",
            # The domains inline (read-only: changes go through the Domains page's actions).
            "domain_link",
            "is_primary",
            "verification_state",
            "verification_token",
        },
        columns={
            "slug",
            "name",
            "status_badge",
            "plan",
            "plan_usage",
            "user_count",
            "app_column_0",
            "primary_domain",
            "created_at",
        },
    ),
    # Custom domains: added through tenants.domains (the add form is its check), removed through
    # it, changed only by its actions (verify, make primary); the page itself is read-only. The
    # token is published on the domain by design: it is not a secret.
    "tenants.domain": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        add=OPERATOR,
        delete=OPERATOR,
        fields={
            "domain",
            "tenant",
            "is_primary",
            "verification_state",
            "verification_token",
            "verification_url",
            "instructions",
            "verified_at",
            "verification_checked_at",
            "verification_error",
            "public_id",
            "created_at",
        },
        columns={"domain", "tenant", "is_primary", "verification_state", "created_at"},
    ),
    # Operators are deactivated, not deleted (a User's delete would reach tenant-only tables). The
    # password field shows only the hash's algorithm and a link to set a new one.
    "accounts.user": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        add=OPERATOR,
        change=OPERATOR,
        fields={
            "email",
            "password",
            "public_id",
            "full_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
            "last_login",
            "created_at",
            "updated_at",
        },
        columns={"email", "full_name", "is_staff", "is_active", "last_login", "created_at"},
    ),
    # Operators' two-factor devices (django-otp's admin, OTP_ADMIN_HIDE_SENSITIVE_DATA): an operator
    # removes a colleague's lost authenticator; neither the key nor the recovery codes are shown.
    "otp_totp.totpdevice": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        add=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        fields=OTP_SEEN
        | {
            "step",
            "t0",
            "digits",
            "tolerance",
            "drift",
            "throttling_failure_count",
            "throttling_failure_timestamp",
        },
        columns=OTP_SEEN,
    ),
    "otp_static.staticdevice": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        add=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        fields=OTP_SEEN,
        columns=OTP_SEEN,
    ),
    "auth.group": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        add=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        fields={"name", "permissions"},
        columns={"__str__"},
    ),
    # django-axes' records: made by sign-ins, never added by hand.
    "axes.accessattempt": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        fields=AXES_SEEN | {"failures_since_start", "expiration", "get_data", "post_data"},
        columns={
            "attempt_time",
            "ip_address",
            "user_agent",
            "username",
            "path_info",
            "failures_since_start",
            "status",
        },
    ),
    "axes.accesslog": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        fields=AXES_SEEN,
        columns={"attempt_time", "logout_time", "ip_address", "username", "user_agent", "path_info"},
    ),
    "axes.accessfailurelog": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        change=OPERATOR,
        delete=OPERATOR,
        fields=AXES_SEEN,
        columns={"attempt_time", "ip_address", "username", "user_agent", "path_info", "locked_out"},
    ),
    # Read-only: exports are started by the tenants' "Export data" action and expire by themselves.
    "tenants.tenantexport": admin_rules(
        list=OPERATOR,
        read=OPERATOR,
        fields={
            "public_id",
            "tenant",
            "status",
            "progress_percent",
            "requested_by",
            "requested_via",
            "size_bytes",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download",
        },
        columns={
            "tenant",
            "status",
            "progress_percent",
            "requested_by",
            "requested_via",
            "created_at",
            "download",
        },
    ),
}


@dataclass(frozen=True)
class Act:
    method: str
    allowed: frozenset[str]
    status: int  # the answer to an allowed persona
    body: object = None  # JSON; a callable gets the sample rows
    refused: int = 403  # the answer to a signed-in persona not allowed (404: the row is not theirs)


def act(method, allowed, status=200, body=None, refused=403):
    return Act(method, frozenset(allowed), status, body, refused)


USER = {"id", "email", "full_name", "role", "is_active", "created_at", "last_login"}
INVITATION = {
    "id",
    "email",
    "role",
    "status",
    "invited_by",
    "expires_at",
    "sent_at",
    "accepted_at",
    "revoked_at",
    "created_at",
}
PROJECT = {"id", "name", "description", "archived", "archived_at", "created_by", "created_at", "updated_at"}
TASK = {
    "id",
    "project",
    "title",
    "description",
    "status",
    "priority",
    "assignee",
    "due_date",
    "created_by",
    "created_at",
    "updated_at",
}
COMMENT = {"id", "author", "body", "created_at"}
TENANT = {
    "id",
    "slug",
    "name",
    "status",
    "suspended_reason",
    "plan",
    "max_users",
    "max_projects",
    "max_storage_mb",
    "usage",
    "url",
    "user_count",
    "deleted_at",
    "purge_after",
    "created_at",
    "updated_at",
}
DOMAIN = {
    "id",
    "domain",
    "is_primary",
    "custom",
    "verified",
    "verified_at",
    "verification_token",
    "verification_url",
    "verification_checked_at",
    "verification_error",
    "instructions",
    "created_at",
}
EXPORT = {
    "id",
    "tenant",
    "status",
    "progress",
    "requested_by",
    "requested_via",
    "size_bytes",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "expires_at",
    "download_url",
}

# path -> ({action: Act}, the fields of what it reads)
TENANT_API = {
    "/api/v1/auth/token/": (
        {
            "sign in": act(
                "POST", SIGNED_IN | {"outsider"}, body={"email": "owner@acme.test", "password": PASSWORD}
            ),
            "sign out": act("DELETE", SIGNED_IN, 204),
        },
        set(),
    ),
    "/api/v1/auth/token/revoke-all/": ({"revoke all": act("POST", SIGNED_IN, 204)}, set()),
    "/api/v1/me/": ({"read": act("GET", SIGNED_IN)}, USER),
    # Every role sees the workspace's directory; owners and admins invite (POST is an invitation).
    "/api/v1/users/": (
        {
            "list": act("GET", ROLES),
            "add": act("POST", MANAGERS, 201, {"email": "new@matrix.test", "role": "member"}),
        },
        USER,
    ),
    "/api/v1/users/{public_id}/": (
        {
            "read": act("GET", ROLES),
            "change": act("PATCH", MANAGERS, body={"role": "admin"}),
            "grant owner": act("PATCH", {"owner"}, body={"role": "owner"}),
            "delete": act("DELETE", MANAGERS, 204),
        },
        USER,
    ),
    # The sample user (acme's member) is active: reactivating answers it unchanged.
    "/api/v1/users/{public_id}/reactivate/": ({"reactivate": act("POST", MANAGERS)}, USER),
    "/api/v1/invitations/": (
        {
            "list": act("GET", MANAGERS),
            "add": act("POST", MANAGERS, 201, {"email": "another@matrix.test"}),
        },
        INVITATION,
    ),
    "/api/v1/invitations/{public_id}/": (
        {
            "read": act("GET", MANAGERS),
            "delete": act("DELETE", MANAGERS),  # revokes, answering the revoked invitation
        },
        INVITATION,
    ),
    "/api/v1/invitations/{public_id}/resend/": ({"resend": act("POST", MANAGERS)}, INVITATION),
    "/api/v1/projects/": (
        {
            "list": act("GET", ROLES),
            "add": act("POST", ROLES, 201, {"name": "New"}),
        },
        PROJECT,
    ),
    "/api/v1/projects/{public_id}/": (
        {
            "read": act("GET", ROLES),
            "change": act("PATCH", ROLES, body={"name": "Renamed"}),
            "replace": act("PUT", ROLES, body={"name": "Renamed", "description": "again"}),
            "delete": act("DELETE", MANAGERS, 204),
        },
        PROJECT,
    ),
    "/api/v1/projects/{public_id}/archive/": (
        {
            "archive": act("POST", MANAGERS, body={"archived": True}),
        },
        PROJECT,
    ),
    "/api/v1/tasks/": (
        {
            "list": act("GET", ROLES),
            "add": act(
                "POST", ROLES, 201, lambda s: {"project": str(s["projects"].public_id), "title": "New"}
            ),
        },
        TASK,
    ),
    # The sample task is the owner's: others' tasks are deleted by owners and admins.
    "/api/v1/tasks/{public_id}/": (
        {
            "read": act("GET", ROLES),
            "change": act("PATCH", ROLES, body={"status": "done"}),
            "replace": act(
                "PUT", ROLES, body=lambda s: {"project": str(s["projects"].public_id), "title": "2"}
            ),
            "delete": act("DELETE", MANAGERS, 204),
        },
        TASK,
    ),
    "/api/v1/tasks/{task_public_id}/comments/": (
        {
            "list": act("GET", ROLES),
            "add": act("POST", ROLES, 201, {"body": "Agreed"}),
        },
        COMMENT,
    ),
}

ROOT_API = {
    "/api/v1/auth/token/": (
        {
            "sign in": act(
                "POST", {"operator", "outsider"}, body={"email": "ops@platform.test", "password": PASSWORD}
            ),
            "sign out": act("DELETE", OPERATOR, 204),
        },
        set(),
    ),
    "/api/v1/auth/token/revoke-all/": ({"revoke all": act("POST", OPERATOR, 204)}, set()),
    "/api/v1/tenants/": (
        {
            "list": act("GET", OPERATOR),
            # The owner's one-time set-password link goes to the owner by email, never to the operator.
            "add": act(
                "POST", OPERATOR, 201, {"slug": "matrix", "name": "Matrix", "owner_email": "b@m.test"}
            ),
        },
        TENANT,
    ),
    "/api/v1/tenants/{public_id}/": (
        {
            "read": act("GET", OPERATOR),
            # Plans are the operator's: a tenant's own owner has no door to change theirs.
            "change plan": act("PATCH", OPERATOR, body={"plan": "team", "max_users": 40}),
            "delete": act("DELETE", OPERATOR, 204),
        },
        TENANT,
    ),
    "/api/v1/tenants/{public_id}/suspend/": (
        {
            "suspend": act("POST", OPERATOR, body={"reason": "matrix"}),
        },
        TENANT,
    ),
    "/api/v1/tenants/{public_id}/reactivate/": ({"reactivate": act("POST", OPERATOR)}, TENANT),
    # The sample export (globex's) is ready, so another may start; the archive is the operator's alone.
    "/api/v1/tenants/{public_id}/export/": ({"export": act("POST", OPERATOR, 202)}, EXPORT),
    "/api/v1/tenants/{public_id}/exports/": ({"list": act("GET", OPERATOR)}, EXPORT),
    "/api/v1/tenants/{public_id}/exports/{export_id}/": ({"read": act("GET", OPERATOR)}, EXPORT),
    "/api/v1/tenants/{public_id}/exports/{export_id}/download/": ({"download": act("GET", OPERATOR)}, set()),
    # The sample tenant (globex) is not deleted: restoring or purging it is refused with a reason.
    "/api/v1/tenants/{public_id}/restore/": ({"restore": act("POST", OPERATOR, 409)}, TENANT),
    "/api/v1/tenants/{public_id}/purge/": ({"purge": act("POST", OPERATOR, 409)}, TENANT),
    "/api/v1/tenants/{public_id}/rename/": (
        {"rename": act("POST", OPERATOR, body={"slug": "matrix-renamed"})},
        TENANT,
    ),
    # The sample domain is a verified custom domain of globex (``custom_domain``).
    "/api/v1/tenants/{public_id}/domains/": (
        {
            "list": act("GET", OPERATOR),
            "add": act("POST", OPERATOR, 201, {"domain": "matrix.example.com"}),
        },
        DOMAIN,
    ),
    "/api/v1/tenants/{public_id}/domains/{domain_id}/": (
        {"read": act("GET", OPERATOR), "delete": act("DELETE", OPERATOR, 204)},
        DOMAIN,
    ),
    "/api/v1/tenants/{public_id}/domains/{domain_id}/verify/": ({"verify": act("POST", OPERATOR)}, DOMAIN),
    "/api/v1/tenants/{public_id}/domains/{domain_id}/make-primary/": (
        {"make primary": act("POST", OPERATOR)},
        DOMAIN,
    ),
}


# Pages of the root domain open to everyone (self-service signup, issue 10): every persona, whatever
# its credentials, gets the same answer. path -> {action: Act}; a POST body is form data.
ROOT_PUBLIC_PAGES = {
    "/signup/": {
        "form": act("GET", PERSONAS),
        # A refused form (the slug is reserved): 400 with the errors, and nothing created.
        "refused signup": act(
            "POST",
            PERSONAS,
            400,
            {
                "company_name": "Matrix",
                "slug": "admin",
                "owner_name": "M",
                "email": "m@matrix.test",
                "password": "a-long-matrix-password",
            },
        ),
    },
    "/signup/check-slug/?slug=matrix": {"check": act("GET", PERSONAS)},
    # The home and its forms (shared_apps/workspace_finder): the same for everyone.
    "/": {"home": act("GET", PERSONAS)},
    # The root site's other Wagtail pages (shared_apps/site_pages), the same for everyone.
    "/pricing/": {"pricing": act("GET", PERSONAS)},
    "/docs/": {"docs": act("GET", PERSONAS)},
    "/changelog/": {"changelog": act("GET", PERSONAS)},
    "/workspace/sign-in/?slug=acme": {"go to a workspace": act("GET", PERSONAS, 302)},
    "/workspace/sign-in/?slug=nosuch": {"unknown workspace": act("GET", PERSONAS, 400)},
    "/workspace/find/": {
        "find by email": act("POST", PERSONAS, 200, {"email": "member@acme.test"}),
        "refused address": act("POST", PERSONAS, 400, {"email": "not an address"}),
    },
}
# Pages of a tenant open to everyone: a hand-off link (tenant_apps/accounts/handoff.py) that is
# unknown here answers 404 to every persona, signed in or not, of acme or not.
TENANT_PUBLIC_PAGES = {
    "/accounts/handoff/" + "M" * 43 + "/": {"hand-off": act("GET", PERSONAS, 404)},
}
# Pages of the tenant's app for some roles only (issue 13): path -> {action: Act}, ids written as
# in TENANT_API ({public_id} of the sample row named by the segment before it); a POST body is form
# data. A persona the matrix leaves out gets a 403 page when signed in to acme (a role that may not,
# or no role), and is sent to sign in (302) otherwise: another tenant's or the operator's session
# means nothing on acme. Every route under /team/ and /account/ is listed
# (``test_the_matrix_lists_every_tenant_app_page``).
TENANT_PAGES = {
    # Owners and admins manage the team: the page and each of its actions (tenant_apps/accounts/team_*).
    "/team/": {"read": act("GET", MANAGERS)},
    "/team/invite/": {"invite": act("POST", MANAGERS, 302, {"email": "page@matrix.test", "role": "member"})},
    "/team/users/{public_id}/role/": {"change role": act("POST", MANAGERS, 302, {"role": "admin"})},
    "/team/users/{public_id}/deactivate/": {"deactivate": act("POST", MANAGERS, 302)},
    # The sample member is active: reactivating is a no-op that still answers with the page.
    "/team/users/{public_id}/reactivate/": {"reactivate": act("POST", MANAGERS, 302)},
    "/team/invitations/{public_id}/resend/": {"resend": act("POST", MANAGERS, 302)},
    "/team/invitations/{public_id}/revoke/": {"revoke": act("POST", MANAGERS, 302)},
    # Everyone's own profile (tenant_apps/accounts/profile_views.py). The sample session and token
    # are the member's own (its persona's): anyone else's answers 404, the same as a made-up one.
    "/account/": {
        "read": act("GET", SIGNED_IN),
        "rename": act("POST", SIGNED_IN, 302, {"full_name": "Matrix Name"}),
    },
    "/account/sessions/{public_id}/revoke/": {"revoke": act("POST", {"member"}, 302, refused=404)},
    "/account/sessions/revoke-others/": {"sign out elsewhere": act("POST", SIGNED_IN, 302)},
    "/account/tokens/{prefix}/revoke/": {"revoke": act("POST", {"member"}, 302, refused=404)},
    "/account/tokens/revoke-all/": {"revoke all": act("POST", SIGNED_IN, 302)},
    # Everyone's own two-factor sign-in (tenant_apps/accounts/two_factor_views.py); the workspace's
    # policy is the owner's. Without a device: confirming, new codes and turning off send back.
    "/account/two-factor/": {"read": act("GET", SIGNED_IN)},
    "/account/two-factor/enable/": {"start": act("POST", SIGNED_IN, 200)},
    "/account/two-factor/confirm/": {"confirm": act("POST", SIGNED_IN, 302, {"code": "123456"})},
    "/account/two-factor/disable/": {"turn off": act("POST", SIGNED_IN, 302, {"password": PASSWORD})},
    "/account/two-factor/recovery-codes/": {"new codes": act("POST", SIGNED_IN, 302)},
    "/account/two-factor/policy/": {"require": act("POST", {"owner"}, 302, {"required": ""})},
}
# The prefixes of the tenant's app whose every route TENANT_PAGES must list.
TENANT_PAGE_PREFIXES = ("team/", "account/")

# Pages of the root domain beside the admin's models and the APIs (issue 12), for operators or for
# no persona at all: path -> (Act, what every other persona gets). Each persona sends its session
# cookie and its API token together. The metrics endpoint takes the scrape token alone
# (METRICS_TOKEN, set in ``matrix_settings``): no persona's session or token opens it.
ROOT_RESTRICTED_PAGES = {
    "/admin/activity/": (act("GET", OPERATOR), 302),
    # The operators' second factor (tenants/operator_two_factor.py): setup or code, theirs alone.
    "/admin/two-factor/": (act("GET", OPERATOR), 302),
    "/-/metrics": (act("GET", NO_ONE), 401),
    # Wagtail's admin (shared_apps/site_pages/admin_access.py): operators alone, everyone else to
    # the operators' sign-in (a tenant's session means nothing here).
    "/cms/": (act("GET", OPERATOR), 302),
}


# --- Sample rows and personas ------------------------------------------------------------------


@pytest.fixture
def matrix_settings(settings):
    settings.API_THROTTLE_RATES = {"user": "1000000/min", "anon": "1000000/min"}
    settings.AXES_FAILURE_LIMIT = 1000000
    settings.SIGNUP_RATE = settings.SIGNUP_CHECK_RATE = "1000000/m"
    settings.METRICS_TOKEN = "matrix-scrape-token"
    return settings


@dataclass
class Persona:
    name: str
    session: str | None  # session key, issued in the persona's own schema
    token: str | None  # API token, issued in the persona's own schema

    def client(self, host: str) -> Client:
        client = Client(HTTP_HOST=host, raise_request_exception=False)
        if self.session:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.session
        return client

    def api_headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}


def _credentials(name: str, user, schema: str) -> Persona:
    client = Client()
    with schema_context(schema):
        client.force_login(user)
        token = AuthToken.objects.create(user=user)[1]
    return Persona(name, client.cookies[settings.SESSION_COOKIE_NAME].value, token)


@pytest.fixture
def personas(
    matrix_settings, tenant, other_tenant, owner, admin, member, nobody, stranger, operator, site_pages
):
    found = {
        "owner": _credentials("owner", owner, tenant.schema_name),
        "admin": _credentials("admin", admin, tenant.schema_name),
        "member": _credentials("member", member, tenant.schema_name),
        "nobody": _credentials("nobody", nobody, tenant.schema_name),
        "outsider": Persona("outsider", None, None),
        "other tenant": _credentials("other tenant", stranger, other_tenant.schema_name),
        "operator": _credentials("operator", operator, "public"),
    }
    assert list(found) == PERSONAS
    return found


@pytest.fixture
def samples(tenant, owner, member):
    """A row of every model the tenant's admin and API show, made through the services."""
    with tenant_context(tenant):
        project = projects.create_project(owner, name="Matrix", description="who may do what")
        task = projects.create_task(owner, project, title="Check the matrix", assignee=member)
        comment = projects.add_comment(member, task, "Looks right")
        preferences = projects.update_preferences(member, digest=False)
        invitation = invitations.invite(owner, "invitee@matrix.test", Role.MEMBER)
        outbox_message = OutboxMessage.objects.first()
    return {
        "project": project,
        "task": task,
        "comment": comment,
        "notificationpreferences": preferences,
        "invitation": invitation,
        "user": member,
        "outboxmessage": outbox_message,
    }


@pytest.fixture
def custom_domain(other_tenant):
    """A verified custom domain of globex, the global admin's and the operator API's sample."""
    domain = domains.add_custom_domain(other_tenant, "store.globex-example.test")
    Domain.objects.filter(pk=domain.pk).update(verified_at=timezone.now())
    domain.refresh_from_db()
    return domain


@pytest.fixture
def sample_export(other_tenant):
    """A ready export of globex (the operator's sample tenant), its archive removed after the test."""
    export = exports.request_export(other_tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    export = exports.build_export(export.pk)
    assert export.status == TenantExport.Status.READY, export.error
    yield export
    storages["exports"].delete(export.file)


# --- Secrets -------------------------------------------------------------------------------------

SECRET_LINKS = [
    re.compile(r"/accounts/invitations/[A-Za-z0-9_\-]{16,}/"),
    re.compile(r"/accounts/reset/[A-Za-z0-9_\-]+/[0-9a-z]+-[0-9a-f]{20,}/"),
    # A login hand-off (tenant_apps/accounts/handoff.py) goes to its user's browser in a redirect only.
    re.compile(r"/accounts/handoff/[A-Za-z0-9_\-]{32,}/"),
]


def secret_values(schemas) -> set[str]:
    """Values that must never reach a page or an API answer: password hashes, token digests and
    keys, invitation token hashes."""
    found = set()
    for schema in schemas:
        with schema_context(schema):
            found |= set(get_user_model().objects.exclude(password="").values_list("password", flat=True))
            found |= {v for pair in AuthToken.objects.values_list("digest", "token_key") for v in pair}
            found |= set(UserSession.objects.values_list("session_key", flat=True))
            if schema != "public":
                found |= set(invitations.Invitation.objects.values_list("token_hash", flat=True))
            # Two-factor keys and recovery codes (django-otp), in every schema.
            found |= set(TOTPDevice.objects.values_list("key", flat=True))
            found |= set(StaticToken.objects.values_list("token", flat=True))
    return {value for value in found if len(value) >= 8}


def leaked(body: str, secrets: set[str]) -> list[str]:
    hits = [f"secret value {value[:6]}..." for value in secrets if value in body]
    hits += [f"secret link {m.group(0)[:40]}..." for pattern in SECRET_LINKS for m in pattern.finditer(body)]
    return hits


# --- Admin sites -------------------------------------------------------------------------------


def admin_site(urlconf: str):
    """The AdminSite serving /admin/ in ``urlconf``."""
    return resolve("/admin/", urlconf=urlconf).func.admin_site


def registered(urlconf: str) -> set[str]:
    return {model._meta.label_lower for model in admin_site(urlconf)._registry}


CLASSES = re.compile(r'class="([^"]*)"')
# django-unfold's layout classes, on the rows and lines that hold the ``field-<name>`` ones.
UNFOLD_LAYOUT = {"field-row", "field-line", "field-tabular"}


def css_names(prefix: str, body: str) -> set[str]:
    """Every ``<prefix>-<name>`` class of the page (any position in a class attribute: unfold writes
    a field's classes in no fixed order), without unfold's layout classes."""
    return {
        token.removeprefix(f"{prefix}-")
        for attribute in CLASSES.findall(body)
        for token in attribute.split()
        if re.fullmatch(rf"{prefix}-\w+", token) and token not in UNFOLD_LAYOUT
    }


def _sample_of(label: str, schema: str, samples: dict):
    from django.apps import apps

    model = apps.get_model(label)
    if model._meta.model_name in samples:
        return samples[model._meta.model_name]
    with schema_context(schema):
        obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"no {label} row to read in the admin: make one in `samples`"
    return obj


def observe_admin(urlconf: str, host: str, schema: str, label: str, persona: Persona, samples, secrets):
    """What ``persona`` may do with ``label`` in the admin, and which fields and columns it sees."""
    app, model = label.split(".")
    obj = _sample_of(label, schema, samples)
    name = admin_site(urlconf).name

    def url(view, *args):
        return reverse(f"{name}:{app}_{model}_{view}", args=args, urlconf=urlconf)

    client = persona.client(host)
    pages, allowed = {}, set()
    for action, path in [
        ("list", url("changelist")),
        ("read", url("change", obj.pk)),
        ("add", url("add")),
        ("delete", url("delete", obj.pk)),
    ]:
        response, _ = walk.isolated(lambda path=path: client.get(path), lambda *_: None)
        pages[action] = response
        if response.status_code == 200:
            allowed.add(action)
    body = pages["read"].content.decode(errors="replace") if "read" in allowed else ""
    if 'name="_save"' in body:
        allowed.add("change")
    seen = {
        "fields": css_names("field", body),
        "columns": css_names("column", pages["list"].content.decode(errors="replace"))
        if "list" in allowed
        else set(),
    }
    leaks = [
        hit
        for response in pages.values()
        for hit in leaked(response.content.decode(errors="replace"), secrets)
    ]
    return allowed, seen, leaks


def check_admin(matrix, urlconf, host, schema, personas, samples, secrets) -> list[str]:
    problems = []
    for label, rules in sorted(matrix.items()):
        for persona in personas.values():
            allowed, seen, leaks = observe_admin(urlconf, host, schema, label, persona, samples, secrets)
            expected = {a for a in ADMIN_ACTIONS if persona.name in getattr(rules, a)}
            if allowed != expected:
                problems.append(
                    f"{label} as {persona.name}: may {sorted(allowed)}, the matrix says {sorted(expected)}"
                )
            if "read" in allowed and seen["fields"] != rules.fields:
                problems.append(f"{label} as {persona.name}: sees fields {sorted(seen['fields'])}")
            if "list" in allowed and seen["columns"] != rules.columns:
                problems.append(f"{label} as {persona.name}: sees columns {sorted(seen['columns'])}")
            problems += [f"{label} as {persona.name}: {leak}" for leak in leaks]
    return problems


def test_the_tenant_admin_follows_the_matrix(tenant, other_tenant, personas, samples):
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    problems = check_admin(
        TENANT_ADMIN,
        settings.ROOT_URLCONF,
        tenant.primary_host,
        tenant.schema_name,
        personas,
        samples,
        secrets,
    )
    assert not problems, "\n".join(problems)


def test_the_global_admin_follows_the_matrix(
    tenant, other_tenant, personas, samples, custom_domain, sample_export
):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    row = {
        "user_agent": "matrix",
        "ip_address": "192.0.2.1",
        "username": "x@matrix.test",
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    AccessAttempt.objects.create(**row, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**row)
    AccessFailureLog.objects.create(**row)
    Group.objects.create(name="matrix-support")
    # A colleague's devices (the operator persona's own would send it to the code step first).
    colleague = get_user_model().objects.create_user("colleague@platform.test", is_staff=True)
    TOTPDevice.objects.create(user=colleague, name="matrix", confirmed=True)
    StaticDevice.objects.create(user=colleague, name="matrix").token_set.create(token="matrix2f")
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    problems = check_admin(
        GLOBAL_ADMIN,
        settings.PUBLIC_SCHEMA_URLCONF,
        settings.BASE_DOMAIN,
        "public",
        personas,
        {"tenant": other_tenant, "domain": custom_domain, "tenantexport": sample_export},
        secrets,
    )
    assert not problems, "\n".join(problems)


# --- APIs ----------------------------------------------------------------------------------------


def documented(urlconf: str) -> dict[str, set[str]]:
    """Each path of the site's OpenAPI schema with its methods."""
    schema = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    return {
        path: {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
        for path, item in schema["paths"].items()
    }


def _concrete(path: str, rows: dict) -> str:
    """The path with each {id} replaced by the sample row of the segment before it."""

    def fill(match):
        segment = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        return str(rows[segment].public_id)

    return re.sub(r"\{\w+\}", fill, path)


def check_api(matrix, host: str, personas, rows, secrets, home: set[str]) -> list[str]:
    """``home``: the personas whose credentials belong to this host (the others get a 401)."""
    problems = []
    for path, (acts, fields) in sorted(matrix.items()):
        concrete = _concrete(path, rows)
        for action, rule in acts.items():
            body = rule.body(rows) if callable(rule.body) else rule.body
            data = json.dumps(body) if body is not None else ""
            for persona in personas.values():
                client = Client(HTTP_HOST=host, raise_request_exception=False, **persona.api_headers())

                def send(client=client, method=rule.method, path=concrete, data=data):
                    return client.generic(method, path, data, content_type="application/json")

                response, _ = walk.isolated(send, lambda *_: None)
                allowed = persona.name in rule.allowed
                expected = rule.status if allowed else (403 if persona.name in home else 401)
                where = f"{rule.method} {path} ({action}) as {persona.name}"
                if response.status_code != expected:
                    problems.append(f"{where}: {response.status_code}, the matrix says {expected}")
                    continue
                raw = b"".join(response.streaming_content) if response.streaming else response.content
                text = raw.decode(errors="replace")
                problems += [f"{where}: {leak}" for leak in leaked(text, secrets)]
                if allowed and rule.method == "GET" and fields:
                    payload = response.json()
                    seen = payload["results"][0] if "results" in payload else payload
                    if set(seen) != fields:
                        problems.append(f"{where}: sees fields {sorted(seen)}")
    return problems


def test_the_tenant_api_follows_the_matrix(tenant, other_tenant, personas, samples):
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    rows = {
        "users": samples["user"],
        "invitations": samples["invitation"],
        "projects": samples["project"],
        "tasks": samples["task"],
    }
    problems = check_api(TENANT_API, tenant.primary_host, personas, rows, secrets, home=SIGNED_IN)
    assert not problems, "\n".join(problems)


def test_the_operator_api_follows_the_matrix(tenant, other_tenant, personas, custom_domain, sample_export):
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    rows = {"tenants": other_tenant, "domains": custom_domain, "exports": sample_export}
    problems = check_api(ROOT_API, settings.BASE_DOMAIN, personas, rows, secrets, home=OPERATOR)
    assert not problems, "\n".join(problems)


# --- GraphQL -------------------------------------------------------------------------------------
# The matrix of /graphql/ is tests/graphql/operations.py (every query and mutation, with the personas
# it answers: the REST API's rules). Here each persona of this file sends each operation with its
# Bearer token: allowed, it gets data; an acme account the matrix leaves out gets FORBIDDEN; globex's
# owner and the operator (tokens of other schemas) and the outsider get a 401. No answer shows a secret.


def test_graphql_follows_the_matrix(tenant, other_tenant, personas, samples):
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    rows = {kind: str(samples[kind].public_id) for kind in ("project", "task", "invitation", "user")}
    problems = []
    for field, op in GRAPHQL.items():
        body = json.dumps({"query": op.document, "variables": op.variables(rows)})
        for persona in personas.values():
            client = Client(
                HTTP_HOST=tenant.primary_host, raise_request_exception=False, **persona.api_headers()
            )
            response, _ = walk.isolated(
                lambda client=client, body=body: client.post(
                    "/graphql/", body, content_type="application/json"
                ),
                lambda *_: None,
            )
            if persona.name in op.allowed:
                expected = "ok"
            elif persona.name in SIGNED_IN:
                expected = "FORBIDDEN"
            else:
                expected = "401"
            got = str(response.status_code)
            if response.status_code == 200:
                errors = response.json().get("errors")
                got = errors[0]["extensions"]["code"] if errors else "ok"
            if got != expected:
                problems.append(f"GraphQL {field} as {persona.name}: {got}, the matrix says {expected}")
            problems += [
                f"GraphQL {field} as {persona.name}: {leak}"
                for leak in leaked(response.content.decode(errors="replace"), secrets)
            ]
    assert not problems, "\n".join(problems)


# --- Public pages --------------------------------------------------------------------------------


def check_public_pages(pages, host: str, personas, secrets) -> list[str]:
    problems = []
    for path, acts in sorted(pages.items()):
        for action, rule in acts.items():
            for persona in personas.values():
                client = persona.client(host)

                def send(client=client, method=rule.method, path=path, body=rule.body):
                    if method == "POST":
                        return client.post(path, body or {})
                    return client.generic(method, path)

                response, _ = walk.isolated(send, lambda *_: None)
                expected = rule.status if persona.name in rule.allowed else 404
                where = f"{rule.method} {path} ({action}) as {persona.name}"
                if response.status_code != expected:
                    problems.append(f"{where}: {response.status_code}, the matrix says {expected}")
                    continue
                text = response.content.decode(errors="replace")
                problems += [f"{where}: {leak}" for leak in leaked(text, secrets)]
    return problems


def test_the_public_pages_answer_every_persona_alike(tenant, other_tenant, personas):
    from tenants.models import Tenant

    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    problems = check_public_pages(ROOT_PUBLIC_PAGES, settings.BASE_DOMAIN, personas, secrets)
    problems += check_public_pages(TENANT_PUBLIC_PAGES, tenant.primary_host, personas, secrets)
    assert not problems, "\n".join(problems)
    assert not Tenant.objects.filter(name="Matrix").exists()


def test_the_public_pages_list_every_signup_and_hand_off_route():
    routes = walk.routes(settings.PUBLIC_SCHEMA_URLCONF)
    root = {"/" + r.route for r in routes if r.route.startswith(("signup/", "workspace/"))}
    # Wagtail's page serving, the catch-all (shared_apps/site_pages/urls.py): the seeded pages.
    if any("(?P<path>" in r.route for r in routes):
        root |= {"/", "/pricing/", "/docs/", "/changelog/"}
    listed = {path.split("?")[0] for path in ROOT_PUBLIC_PAGES}
    assert root == listed
    tenant = {r.route for r in walk.routes(settings.ROOT_URLCONF) if r.route.startswith("accounts/handoff/")}
    assert tenant == {"accounts/handoff/<str:token>/"} and len(TENANT_PUBLIC_PAGES) == 1


def test_the_operator_pages_answer_operators_alone(tenant, other_tenant, personas):
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    problems = []
    for path, (rule, refusal) in sorted(ROOT_RESTRICTED_PAGES.items()):
        for persona in personas.values():
            client = persona.client(settings.BASE_DOMAIN)
            headers = persona.api_headers()
            response, _ = walk.isolated(
                lambda client=client, path=path, headers=headers: client.get(path, **headers), lambda *_: None
            )
            expected = rule.status if persona.name in rule.allowed else refusal
            where = f"GET {path} as {persona.name}"
            if response.status_code != expected:
                problems.append(f"{where}: {response.status_code}, the matrix says {expected}")
            elif expected == 302 and not response["Location"].startswith("/admin/login/"):
                problems.append(f"{where}: redirected to {response['Location']}, not the sign-in page")
            text = response.content.decode(errors="replace")
            problems += [f"{where}: {leak}" for leak in leaked(text, secrets)]
    assert not problems, "\n".join(problems)


def test_the_tenant_app_pages_follow_the_matrix(tenant, other_tenant, personas, samples):
    secrets = secret_values(["public", tenant.schema_name, other_tenant.schema_name])
    with tenant_context(tenant):
        own_session = UserSession.objects.get(session_key=personas["member"].session)
    rows = {
        "users": samples["user"],
        "invitations": samples["invitation"],
        # The member's own session and token (the profile names a token by its first 8 characters).
        "sessions": own_session,
        "tokens": SimpleNamespace(public_id=personas["member"].token[:8]),
    }
    problems = []
    for path, acts in sorted(TENANT_PAGES.items()):
        concrete = _concrete(path, rows)
        for action, rule in acts.items():
            body = rule.body(rows) if callable(rule.body) else rule.body
            for persona in personas.values():
                client = persona.client(tenant.primary_host)

                def send(client=client, method=rule.method, path=concrete, body=body):
                    if method == "POST":
                        return client.post(path, body or {})
                    return client.generic(method, path)

                response, _ = walk.isolated(send, lambda *_: None)
                allowed = persona.name in rule.allowed
                expected = rule.status if allowed else (rule.refused if persona.name in SIGNED_IN else 302)
                where = f"{rule.method} {path} ({action}) as {persona.name}"
                if response.status_code != expected:
                    problems.append(f"{where}: {response.status_code}, the matrix says {expected}")
                    continue
                if (
                    expected == 302
                    and not allowed
                    and not response["Location"].startswith("/accounts/sign-in/")
                ):
                    problems.append(f"{where}: redirected to {response['Location']}, not the sign-in page")
                problems += [
                    f"{where}: {leak}" for leak in leaked(response.content.decode(errors="replace"), secrets)
                ]
    assert not problems, "\n".join(problems)


# --- The matrix covers everything ---------------------------------------------------------------


def test_the_matrix_lists_every_tenant_app_page():
    """Every route of the tenant's app under TENANT_PAGE_PREFIXES, with the methods it answers."""
    routes = {
        route.openapi_path()
        for route in walk.routes(settings.ROOT_URLCONF)
        if route.route.startswith(TENANT_PAGE_PREFIXES)
    }
    assert routes, "no tenant app page found: is the team page wired in config/urls_tenant.py?"
    assert routes == set(TENANT_PAGES)


def test_the_matrix_lists_every_root_page_beside_the_admin_sites_own():
    """A view of the root domain under /admin/ that the admin site does not serve itself (its own
    pages follow the models' matrix), and the /-/ endpoints that are not probes, are listed."""
    probes = {"/-/health/", "/-/ready/"}
    pages = {
        "/" + r.route
        for r in walk.routes(settings.PUBLIC_SCHEMA_URLCONF)
        if (r.route.startswith("admin/") and len(r.chain) == 1)
        or r.route.startswith("-/")
        # Wagtail's admin, by its dashboard: every view of it is behind one guard (site_pages).
        or r.route == "cms/"
    }
    assert pages - probes == set(ROOT_RESTRICTED_PAGES)


def test_the_matrix_lists_every_admin_model_and_api_route():
    problems = []
    for name, urlconf, matrix in [
        ("tenant admin", settings.ROOT_URLCONF, TENANT_ADMIN),
        ("global admin", settings.PUBLIC_SCHEMA_URLCONF, GLOBAL_ADMIN),
    ]:
        shown = registered(urlconf)
        problems += [f"{name}: {label} is registered but not in the matrix" for label in shown - set(matrix)]
        problems += [f"{name}: {label} is in the matrix but not registered" for label in set(matrix) - shown]
    for name, urlconf, matrix in [
        ("tenant API", settings.ROOT_URLCONF, TENANT_API),
        ("operator API", settings.PUBLIC_SCHEMA_URLCONF, ROOT_API),
    ]:
        routes = {route.openapi_path() for route in walk.routes(urlconf) if route.is_api}
        schema = documented(urlconf)
        for path in sorted(routes | set(schema) | set(matrix)):
            in_matrix = {rule.method for rule in matrix.get(path, ({}, set()))[0].values()}
            if in_matrix != schema.get(path, set()):
                problems.append(
                    f"{name}: {path} answers {sorted(schema.get(path, set()))}, "
                    f"the matrix has {sorted(in_matrix)}"
                )
    assert not problems, "\n".join(problems)


def test_the_secret_search_finds_hashes_and_one_time_links(tenant, owner):
    secrets = secret_values([tenant.schema_name])
    page = f"<td>{owner.password}</td> <a href='http://acme.localhost/accounts/reset/MQ/abc123-{'f' * 32}/'>"
    assert len(leaked(page, secrets)) == 2
    assert leaked("<td>nothing to see</td>", secrets) == []
