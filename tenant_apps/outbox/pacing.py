"""Per-tenant pacing of bulk email, so one tenant's burst never starves another tenant's mail.

Each tenant's bulk rows leave at most OUTBOX_BULK_RATE_PER_TENANT per second, after a first burst
of OUTBOX_BULK_BURST_PER_TENANT. The rule is GCRA (the generic cell rate algorithm, a token bucket
kept as one timestamp): a Redis key per schema holds the time at which the tenant's bucket is
empty again ("theoretical arrival time"). Each bulk row *reserves* its slot in one atomic script
and gets back how long to wait for it. A row whose slot is in the future is not sent now and does
not hold the worker: the send task puts it back with ``next_attempt_at`` at its slot and a task
with that countdown (``sending.deliver_bulk_message``), and comes back holding its reservation.

So 10,000 digests of one tenant cost the email workers one cheap deferral each, then leave at the
tenant's pace, while another tenant's bulk row, with a bucket of its own, goes at once; and
transactional mail does not pass through here at all (it has a queue of its own, consumed first).

Why not Celery's ``rate_limit``: it is per worker and per task type, not per tenant, and it holds
the messages in the worker. Why a script of our own rather than a library: the reservation (a wait
to schedule, not a yes/no) is what the deferral needs, and the dozen lines below are all of it.
If Redis cannot be reached, the row is sent (pacing is a courtesy, not a guarantee to lose mail on).
"""

import functools
import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1]: the tenant's key. ARGV: now, interval (s per message), burst. Returns the wait in ms.
GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait < 0 then wait = 0 end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return math.ceil(wait * 1000)
"""


@functools.cache
def _script(url: str):
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return client.register_script(GCRA)


def key_for(schema: str) -> str:
    # The cache's key prefix keeps two setups (or two test runs) sharing a Redis database apart.
    return f"outbox-pace:{settings.CACHES['default'].get('KEY_PREFIX', '')}:{schema}"


def reserve_slot(schema: str) -> float:
    """Reserve the next bulk-sending slot of ``schema``'s tenant; seconds to wait for it (0: now)."""
    rate = settings.OUTBOX_BULK_RATE_PER_TENANT
    if rate <= 0:
        return 0.0
    try:
        wait_ms = _script(settings.CACHE_URL)(
            keys=[key_for(schema)],
            args=[f"{time.time():.6f}", f"{1.0 / rate:.6f}", max(settings.OUTBOX_BULK_BURST_PER_TENANT, 1)],
        )
    except redis.RedisError:
        logger.warning("bulk email pacing unavailable (Redis): sending without it", exc_info=True)
        return 0.0
    return int(wait_ms) / 1000.0
