"""One pending send task per schema for transactional mail, however many rows are queued.

A burst of 300 emails used to put 300 send tasks on the broker, each paying Celery's receive and
trace, the tenant switch and its own claim; the worker spent more on them than on the emails.
Instead, committing a transactional row asks for a *drain* of its schema
(``services.request_drain``): a task that claims the schema's due rows in batches and submits
each batch in one provider call (``sending.deliver_due``). This mark makes the asks of a burst
share one task:

- the producer sets ``outbox-drain:<prefix>:<schema>`` with SET NX and a TTL, and enqueues the
  drain only when it set the mark (a pending drain will see its row);
- the drain deletes the mark *before* its first claim, so a row committed after that finds no
  mark and enqueues a drain of its own: no row is committed in between unseen.

Why that order is enough: a producer that finds the mark set, set after its row committed, knows
the mark's drain has not deleted it yet, so that drain's first claim comes after the commit and
sees the row. The cost of being wrong the other way is a drain that finds nothing.

Losses are bounded: a mark whose task never ran (the broker lost it) expires after
OUTBOX_DRAIN_MARK_SECONDS, and ``services.recover_stalled`` enqueues whatever is still queued. If
Redis cannot be reached, every ask enqueues a drain: more tasks, never fewer.
"""

import functools
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def key_for(schema: str) -> str:
    # The cache's key prefix keeps two setups (or two test runs) sharing a Redis database apart.
    return f"outbox-drain:{settings.CACHES['default'].get('KEY_PREFIX', '')}:{schema}"


def claim(schema: str) -> bool:
    """Set the schema's mark; True when this caller set it (so it must enqueue the drain), or
    when Redis cannot say."""
    try:
        return bool(
            _client(settings.CACHE_URL).set(
                key_for(schema), "1", nx=True, ex=settings.OUTBOX_DRAIN_MARK_SECONDS
            )
        )
    except redis.RedisError:
        logger.warning("outbox drain marks unavailable (Redis): enqueuing a drain per email", exc_info=True)
        return True


def release(schema: str) -> None:
    """Delete the schema's mark: the drain is starting, or its task never reached the broker."""
    try:
        _client(settings.CACHE_URL).delete(key_for(schema))
    except redis.RedisError:
        logger.warning("outbox drain marks unavailable (Redis)", exc_info=True)
