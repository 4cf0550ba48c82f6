# gunicorn's settings for the web container: platform/entrypoint.sh runs
#   gunicorn config.wsgi:application --config platform/gunicorn.conf.py
# Chosen by bench/serving.py (bench/RESULTS.md, "Serving"): gunicorn's gthread workers served the
# most requests in three of four comparisons (tenant page and health, 2 and 5 workers), never far
# behind; granian's WSGI server measured no better, its ASGI server far worse.
# A settings file for gunicorn, not a module of the project: nothing imports it.
import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Processes for the Python a page runs (threads of one process take turns at it), threads so a
# worker waiting on PostgreSQL or Redis serves another request meanwhile. gunicorn's rule of thumb,
# 2 x cores + 1 processes, unless told. Each thread keeps its own database connection
# (DB_CONN_MAX_AGE): workers x threads connections per container.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Idle connections from the proxy stay open this long: Caddy reuses them instead of reconnecting.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))

# A request still running after this is killed and its worker replaced: above every bound of a
# request's own (the database's lock timeout, the cache's socket timeout), below the proxy's.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
# Recycle workers now and then, so a slow leak in a dependency never grows without bound; the
# jitter keeps them from restarting together.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10

# The reverse proxy (platform/Caddyfile) sets X-Forwarded-Proto; Django reads it itself
# (SECURE_PROXY_SSL_HEADER) and the client address from X-Forwarded-For (TRUSTED_PROXY_COUNT).
# gunicorn trusts it for wsgi.url_scheme only from these addresses: the proxy's, in production.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Request lines are logged by Django (one structured line per request); gunicorn's access log
# would be a second, unstructured one. Errors and worker restarts go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")

# Workers' liveness files in memory: a container's /tmp may be a slow overlay filesystem, and a
# blocked write there would look like a hung worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


def child_exit(server, worker):
    # Prometheus' multiprocess mode (tenants/metrics.py): a worker gunicorn replaced leaves the
    # live gauges' sum.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
