"""Host-to-tenant lookup with a shared cache.

django-tenants looks the Domain row up on every request. Here a warm host costs one Redis GET and
no database query; the entry is deleted whenever a Tenant or Domain row changes (including a
domain's old name when it is renamed), so the next request sees the change. Unknown hosts are
cached too (briefly), so a flood of random subdomains does not turn into a flood of queries, and
creating a domain deletes that negative entry. If the cache is down the lookup falls back to the
database rather than failing the request.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)

_MISSING = "__no_tenant__"
_MISSING_SECONDS = 60


def _key(hostname: str) -> str:
    return f"tenant-host:v1:{hostname}"


def tenant_for_host(hostname: str) -> Tenant | None:
    """The tenant serving ``hostname``, or None. Status is not checked here: callers decide."""
    key = _key(hostname)
    try:
        cached = cache.get(key)
    except Exception:  # a cache outage must not take the whole platform down
        logger.warning("tenant cache unavailable; looking %s up in the database", hostname, exc_info=True)
        cached = None
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    try:
        tenant = Domain.objects.select_related("tenant").get(domain=hostname).tenant
    except Domain.DoesNotExist:
        tenant = None
    try:
        if tenant is None:
            cache.set(key, _MISSING, _MISSING_SECONDS)
        else:
            cache.set(key, tenant, settings.TENANT_CACHE_SECONDS)
    except Exception:
        logger.warning("tenant cache unavailable; %s not cached", hostname, exc_info=True)
    return tenant


def forget_hosts(hostnames) -> None:
    """Drop cached lookups now and again after commit: deleting only now would let a request that
    reads the old row before our commit put the stale value back."""
    keys = [_key(h) for h in set(hostnames) if h]
    if not keys:
        return

    def delete():
        try:
            cache.delete_many(keys)
        except Exception:
            logger.warning("tenant cache unavailable; entries expire on their own", exc_info=True)

    delete()
    transaction.on_commit(delete)


@receiver(pre_save, sender=Domain)
def _remember_old_domain(sender, instance, **kwargs):
    if instance.pk:
        instance._old_domain = Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()


@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _forget_domain(sender, instance, **kwargs):
    forget_hosts([instance.domain, getattr(instance, "_old_domain", None)])


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
def _forget_tenant(sender, instance, **kwargs):
    hosts = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    forget_hosts(hosts + [instance.primary_host])
