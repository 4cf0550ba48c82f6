"""The fixed-schema baseline of bench/scale.py: the same middleware stack and page, every host
served by one tenant read once per process, so a request pays no host lookup at all."""

import os

from tenants.middleware import TenantHostMiddleware
from tenants.models import Tenant


class FixedTenantMiddleware(TenantHostMiddleware):
    _tenant = None

    def get_tenant(self, domain_model, hostname):
        if FixedTenantMiddleware._tenant is None:
            FixedTenantMiddleware._tenant = Tenant.objects.get(schema_name=os.environ["BENCH_FIXED_SCHEMA"])
        return FixedTenantMiddleware._tenant
