"""The tenancy core's beat jobs, run in the public schema: the pool's refill (tenants.pool), the
purge of deleted tenants past their grace period (tenants.lifecycle), the expiry of exports; and
the build of a tenant's export (tenants.exports), run in the tenant's schema."""

from celery import shared_task
from django.conf import settings

from tenants import domains, exports, pool, services
from tenants.models import Domain


@shared_task(name="tenants.refill_pool", ignore_result=True)
def refill_pool() -> None:
    pool.refill_pool()


@shared_task(name="tenants.purge_deleted", ignore_result=True)
def purge_deleted() -> list[str]:
    """Drop the tenants deleted more than TENANT_DELETE_GRACE_DAYS ago; forget expired redirects."""
    return services.purge_deleted_tenants()


# Runs in the tenant's schema (enqueued with its ``_schema_name`` header, like every tenant task:
# the task base drops it if the tenant is gone); build_export enters the tenant's context itself
# too, so it reads the same schema whoever calls it. Its own time limits: a big tenant's export
# outlasts CELERY_TASK_TIME_LIMIT; the soft limit leaves a minute to mark the row failed.
@shared_task(
    name=exports.BUILD_TASK,
    ignore_result=True,
    time_limit=settings.TENANT_EXPORT_TIME_LIMIT,
    soft_time_limit=max(settings.TENANT_EXPORT_TIME_LIMIT - 60, 1),
)
def build_export(export_id: int) -> None:
    exports.build_export(export_id)


@shared_task(name="tenants.expire_exports", ignore_result=True)
def expire_exports() -> None:
    """Beat: delete archives past their keep time; re-enqueue or fail exports that stalled."""
    exports.expire_exports()
    exports.recover_stalled_exports()


@shared_task(name="tenants.verify_pending_domains", ignore_result=True)
def verify_pending_domains() -> None:
    """Beat: one ``tenants.verify_domain`` task per pending custom domain due a check (each may
    wait DOMAIN_VERIFICATION_TIMEOUT_SECONDS on a slow host, so they are not run one after another
    in this task's time limit)."""
    for domain_id in domains.pending_domains_to_check().values_list("pk", flat=True):
        verify_domain.delay(domain_id)


@shared_task(name="tenants.verify_domain", ignore_result=True)
def verify_domain(domain_id: int) -> None:
    domain = Domain.objects.filter(pk=domain_id, verified_at__isnull=True).select_related("tenant").first()
    if domain is not None:  # removed or verified since it was enqueued
        domains.verify_domain(domain)
