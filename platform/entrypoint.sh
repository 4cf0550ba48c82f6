#!/usr/bin/env bash
# The container's entrypoint. The first argument names the process: web, worker [queues], beat, or migrate
# (the public schema, then every tenant schema). Anything else runs as given, e.g.
#   docker compose run --rm web python manage.py list_tenants
set -euo pipefail

# manage.py and the config package sit one level above this script, in the image and in a clone.
cd "$(dirname "$(readlink -f "$0")")/.."

migrate() {
  # Public first: the tenant schemas to migrate are listed from its tenants table.
  python manage.py migrate_schemas --shared --noinput
  python manage.py migrate_schemas --noinput
}

# Prometheus' multiprocess directory (README, "Metrics and errors"), emptied before the web or
# worker processes that write to it start: files of an earlier run's processes would be summed in.
fresh_metrics_dir() {
  if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  fi
}

case "${1:-}" in
  web)
    # Off unless asked (compose asks): replicas starting together would race on the same
    # migrations, so a production release runs `migrate` once before starting them.
    if [ "${MIGRATE_ON_START:-0}" = "1" ]; then
      migrate
    fi
    # Workers, timeouts, the proxy's address: platform/gunicorn.conf.py (README, "Serving in production").
    fresh_metrics_dir
    exec gunicorn config.wsgi:application --config platform/gunicorn.conf.py
    ;;
  worker)
    # `worker [queues] [celery options]`: the queues it consumes, comma-separated (config/task_routes.py;
    # compose runs one worker per queue), all four when none is named.
    queues="${2:-default,email,email_bulk,bulk}"
    shift $(( $# > 1 ? 2 : 1 ))
    fresh_metrics_dir
    exec celery -A config worker --loglevel=INFO --queues "$queues" "$@"
    ;;
  beat)
    # The schedule file goes to /tmp: the image's code directory is not writable by its user.
    exec celery -A config beat --loglevel=INFO \
      --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}"
    ;;
  migrate)
    migrate
    ;;
  *)
    exec "$@"
    ;;
esac
