"""Self-service signup: a visitor of the root domain creates a workspace and becomes its owner.

The rules of a new tenant (slug, name, owner email, all-or-nothing creation, the race for a slug)
are provisioning's (tenants.services); this module adds what a signup does on top: the owner
chooses their password, and gets a welcome email. Nothing of a failed signup remains.
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django_tenants.utils import tenant_context

from tenant_apps.accounts import emails
from tenant_apps.accounts.handoff import issue_login_handoff
from tenants.services import ProvisionedTenant, check_new_tenant, provision_tenant

logger = logging.getLogger(__name__)


def normalize_slug(slug: str) -> str:
    """What the visitor typed, as a slug is written: no surrounding spaces, lowercase."""
    return (slug or "").strip().lower()


def slug_availability(slug: str) -> tuple[bool, str]:
    """Whether ``slug`` can be signed up for now, and a message a person can act on. The rules are
    provisioning's own check; a free slug may still be taken by the time the form is sent."""
    slug = normalize_slug(slug)
    try:
        check_new_tenant(slug, "", "")
    except ValidationError as exc:
        problems = exc.message_dict.get("slug")
        if problems:
            return False, problems[0]
    return True, f"'{slug}' is available."


def sign_up(*, company_name: str, slug: str, owner_name: str, email: str, password: str) -> ProvisionedTenant:
    """Provision the tenant with its owner (``password`` already validated by the caller) and queue
    the owner's welcome email, in one transaction: a refusal or a failure at any step leaves no
    tenant, schema, domain, user or email. Raises ValidationError keyed by provisioning's fields
    (``slug``, ``name``, ``owner_email``), "already taken" for a slug that another signup won."""
    with transaction.atomic():
        provisioned = provision_tenant(
            normalize_slug(slug), company_name, email, owner_password=password, owner_name=owner_name
        )
        with tenant_context(provisioned.tenant):
            emails.signup_welcome(provisioned.owner)
    logger.info("signup: tenant %s created by its owner", provisioned.tenant.slug)
    return provisioned


def owner_handoff_url(provisioned: ProvisionedTenant) -> str:
    """The one-time link that signs the new owner in on their workspace's host. Should the cache
    fail to store it, the workspace's sign-in page: the signup itself succeeded and must not end
    in an error page."""
    with tenant_context(provisioned.tenant):
        try:
            return issue_login_handoff(provisioned.owner, "/")
        except Exception:
            logger.exception("signup: no login hand-off for tenant %s", provisioned.tenant.slug)
            return provisioned.tenant.url(reverse("accounts:sign_in", urlconf="config.urls_tenant"))
