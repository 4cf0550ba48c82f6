import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from tenants import readiness

logger = logging.getLogger(__name__)


def platform_home(request):
    return render(request, "tenants/platform_home.html", {"signup_enabled": settings.SIGNUP_ENABLED})


def health(request):
    """Liveness and readiness for load balancers and compose: 200 when PostgreSQL and Redis answer,
    503 naming what failed otherwise."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        logger.exception("health: database check failed")
        checks["database"] = "error"
    try:
        cache.set("health:ping", "1", 5)
        checks["cache"] = "ok" if cache.get("health:ping") == "1" else "error"
    except Exception:
        logger.exception("health: cache check failed")
        checks["cache"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


@never_cache
@require_safe
def ready(request):
    """Readiness for load balancers and compose (tenants/readiness.py): 200 when every check passes,
    503 naming the failed ones. The root domain only: it says whether this process may take
    traffic, which is the same for every tenant, and a customer's domain need not show it."""
    report = readiness.readiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


class _TenantBranded:
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        name = self.request.tenant.name
        context.update(site_header=f"{name} admin", site_title=name)
        return context


class TenantPasswordResetConfirmView(_TenantBranded, auth_views.PasswordResetConfirmView):
    """Also the "set your password" page of a newly provisioned owner (a one-time link)."""


class TenantPasswordResetCompleteView(_TenantBranded, auth_views.PasswordResetCompleteView):
    pass
