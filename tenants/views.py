import logging

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from tenants import readiness

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def health(request):
    """Liveness: this process is up and serving requests. It reads nothing else on purpose: when
    PostgreSQL or Redis is down, restarting every web process (what a failed liveness probe does)
    mends nothing and adds a stampede of reconnections when they return; ``/-/ready/`` takes the
    process out of rotation instead."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request):
    """Readiness for load balancers and compose (tenants/readiness.py): 200 when every check passes,
    503 naming the failed ones. The root domain only: it says whether this process may take
    traffic, which is the same for every tenant, and a customer's domain need not show it."""
    report = readiness.readiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
