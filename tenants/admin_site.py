"""The per-tenant admin site, served at /admin/ on each tenant's domain.

It is a separate AdminSite from Django's global one, so it lists only what tenant apps register
on it (never Tenant, Domain or other public models), and it runs in the tenant's schema, so only
that tenant's staff users can sign in: operators live in the public schema and do not exist here.
"""

from django.contrib.admin import AdminSite


class TenantAdminSite(AdminSite):
    site_url = "/"

    def each_context(self, request):
        context = super().each_context(request)
        name = getattr(getattr(request, "tenant", None), "name", "Workspace")
        context.update(site_header=f"{name} admin", site_title=name, index_title=f"Manage {name}")
        return context


tenant_admin_site = TenantAdminSite(name="admin")
