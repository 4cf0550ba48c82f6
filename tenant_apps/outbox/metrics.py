"""Prometheus metrics of email sending (tenants.metrics explains the rules: no tenant label).

``template`` is the outbox row's template name, a fixed set written in the apps' ``emails.py``.
"""

import time
from contextlib import contextmanager

from prometheus_client import Counter, Histogram

EMAILS = Counter(
    "outbox_emails",
    "Outbox submissions by outcome: sent (accepted by the provider), retry (a transient error, "
    "queued again) or failed (permanent, or out of attempts).",
    ["template", "outcome"],
)
PROVIDER_SECONDS = Histogram(
    "outbox_provider_duration_seconds",
    "Time the email provider took to answer one call: one email, or a batch of them.",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def count(template: str, outcome: str) -> None:
    EMAILS.labels(template or "unknown", outcome).inc()


@contextmanager
def provider_call():
    """Times the block as one call to the provider (one email or a batch): ``ok``, or ``error``
    when it raises."""
    started = time.perf_counter()
    result = "error"
    try:
        yield
        result = "ok"
    finally:
        PROVIDER_SECONDS.labels(result).observe(time.perf_counter() - started)
