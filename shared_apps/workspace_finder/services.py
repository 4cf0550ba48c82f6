"""The root domain's home: go to a workspace by its address, or have the workspaces of an email
address sent to it.

Why its own app, not ``shared_apps.signup`` nor ``tenants``: the home is product (what the
platform is, where to sign in), not tenancy core, and finding one's workspaces is not signing up;
it reads every tenant's users (one statement) and sends the platform's own email, which neither of
those apps does.

**Find my workspace** answers the same page whether or not the address belongs to any workspace,
and the request does no lookup at all (so its timing says nothing either): it only counts the
request against the limits and enqueues ``send_workspace_list`` after the commit. The task looks
the address up in every active tenant and, when it is an active user of at least one, emails it
the list (names and sign-in pages: no secret link, the reader still signs in). Past a limit the
page answers the same and nothing is sent, so the form can neither probe addresses nor flood an
inbox.

**Sign in to your workspace** by its address is not hidden the same way: whether a workspace
exists at ``<slug>.<BASE_DOMAIN>`` is public already (its host answers its sign-in page, or "no
workspace at this address", to anyone), so an unknown address gets its own error, which helps the
person who mistyped and tells nobody anything new. A deleted workspace is unknown (its host
answers as one); a suspended one is reached (its host says it is suspended).
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django_tenants.utils import get_public_schema_name

from config.celery import app
from tenant_apps.outbox.services import queue_platform_email
from tenants.models import Tenant
from tenants.services import query_each_schema

logger = logging.getLogger(__name__)

SEND_TASK = "workspace_finder.send_workspace_list"
EMAIL_TEMPLATE = "workspace_finder/workspace_list"
# A broker blip is absorbed; a broker that is down costs the request about a second, not a hang.
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
WINDOW_SECONDS = 3600


def normalize_email(email: str) -> str:
    """As accounts store an address: no surrounding spaces, lowercase."""
    return (email or "").strip().lower()


def sign_in_path() -> str:
    return reverse("accounts:sign_in", urlconf=settings.ROOT_URLCONF)


def workspace_for_address(slug: str) -> Tenant | None:
    """The workspace a visitor can reach at ``slug`` (active or suspended), or None."""
    return (
        Tenant.objects.filter(slug=slug, status__in=[Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED])
        .exclude(schema_name=get_public_schema_name())
        .first()
    )


def workspace_sign_in_url(tenant: Tenant) -> str:
    """The sign-in page on the workspace's canonical host (its primary custom domain, if any)."""
    return tenant.url(sign_in_path())


def allow_workspace_list(email: str, client_address: str | None) -> bool:
    """Whether one more list may be sent: at most WORKSPACE_FINDER_EMAILS_PER_HOUR per email
    address and WORKSPACE_FINDER_REQUESTS_PER_HOUR per client address (requests without a usable
    one share a bucket: stricter, not looser). Every request counts against both, allowed or not,
    like ``tenant_apps.accounts.services.allow_password_reset_email``."""
    keys = [
        (f"workspace_finder:email:{normalize_email(email)}", settings.WORKSPACE_FINDER_EMAILS_PER_HOUR),
        (f"workspace_finder:ip:{client_address or 'unknown'}", settings.WORKSPACE_FINDER_REQUESTS_PER_HOUR),
    ]
    allowed = True
    for key, limit in keys:
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS)
            count = 1
        allowed = allowed and count <= limit
    return allowed


def request_workspace_list(email: str, client_address: str | None) -> bool:
    """Have the workspaces of ``email`` sent to it, once the caller's transaction commits; no
    lookup here. Returns whether it was enqueued (False past a limit); the caller answers the
    same either way."""
    email = normalize_email(email)
    if not allow_workspace_list(email, client_address):
        logger.info("workspace finder: limit reached, nothing sent")
        return False
    transaction.on_commit(lambda: _enqueue(email))
    return True


def _enqueue(email: str) -> None:
    try:
        # By name: this module is below the tasks module that names it. The task runs in public
        # (tenant-schemas-celery stamps the current schema, the root domain's).
        app.send_task(SEND_TASK, (email,), retry=True, retry_policy=ENQUEUE_RETRY_POLICY)
    except Exception:  # the broker is down: the visitor asks again; the page cannot say more
        logger.warning("workspace finder: could not enqueue a workspace list", exc_info=True)


def workspaces_of(email: str) -> list[Tenant]:
    """The active workspaces where ``email`` is an active user, by name: one query for the active
    tenants, one statement over their schemas (``tenants.services.query_each_schema``)."""
    email = normalize_email(email)
    if not email:
        return []
    tenants = {
        tenant.schema_name: tenant
        for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE).exclude(
            schema_name=get_public_schema_name()
        )
    }
    rows = query_each_schema(
        tenants,
        "accounts_user",
        "1",
        # Addresses are stored lowercase (accounts.User.save), so the unique index serves this.
        "WHERE is_active AND email = %s",
        [email],
        check_tables=False,
    )
    return sorted((tenants[schema] for schema, _ in rows), key=lambda t: (t.name.lower(), t.slug))


def send_workspace_list(email: str) -> int:
    """In the public schema: email ``email`` the list of its workspaces through the platform's
    outbox, when it has any. Returns how many workspaces were listed (0: nothing was sent)."""
    workspaces = workspaces_of(email)
    if not workspaces:
        logger.info("workspace finder: no workspace for the address, nothing sent")
        return 0
    listed = [{"name": tenant.name, "url": workspace_sign_in_url(tenant)} for tenant in workspaces]
    queue_platform_email(
        [normalize_email(email)],
        EMAIL_TEMPLATE,
        {"workspaces": listed, "base_domain": settings.BASE_DOMAIN, "home_url": _home_url()},
    )
    logger.info("workspace finder: a list of %d workspace(s) queued", len(listed))
    return len(listed)


def _home_url() -> str:
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}/"
