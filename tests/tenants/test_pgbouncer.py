"""Schema switching behind a real PgBouncer (tenants/db/pooling.py).

The module starts Debian's pgbouncer on a free port in front of the test database, with three
pools: ``tp`` (transaction mode, 2 server connections, shared by every client of a test), ``tp_one``
(transaction mode, 1 server connection, so who gets it next is certain) and ``tp_session`` (session
mode, 1 server connection). The controls show why the transaction mode exists: a plain
``SET search_path`` stays on the server connection for the next client.

The rows read are the session tenants' owners (owner@acme.test in acme, owner@globex.test in globex),
committed when the session provisioned them; a test's own rolled-back rows are invisible to
PgBouncer's connections.
"""

import copy
import os
import random
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import DataError, NotSupportedError, connection, connections, transaction
from django.db.backends.signals import connection_created
from django.test import Client

from tenants.db import pooling
from tenants.db.base import DatabaseWrapper
from tests.factories import PASSWORD
from tests.worker import wait_until

pytestmark = pytest.mark.django_db

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
)
OWNER_OF = {"acme": "owner@acme.test", "globex": "owner@globex.test"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgBouncer:
    """One pgbouncer process in a directory of its own, in front of the test database."""

    def __init__(self, directory: Path, settings_dict: dict):
        self.directory = directory
        self.port = free_port()
        server = f"host={settings_dict['HOST'] or '127.0.0.1'} port={settings_dict['PORT'] or 5432}"
        server += f" dbname={settings_dict['NAME']} user={settings_dict['USER']}"
        if settings_dict.get("PASSWORD"):
            server += f" password={settings_dict['PASSWORD']}"
        user = settings_dict["USER"]
        (directory / "users.txt").write_text(f'"{user}" ""\n')
        config = f"""
[databases]
tp = {server} pool_size=2
tp_one = {server} pool_size=1
tp_session = {server} pool_size=1 pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
server_reset_query = DISCARD ALL
logfile =
"""
        if os.geteuid() == 0:
            config += "user = postgres\n"  # pgbouncer refuses to run as root; it drops to this user
        (directory / "pgbouncer.ini").write_text(config)
        directory.chmod(0o755)
        for path in directory.iterdir():
            path.chmod(0o644)
        self.log = directory / "pgbouncer.log"
        self.process = None

    def start(self) -> "PgBouncer":
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [PGBOUNCER, str(self.directory / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self.accepts, timeout=20)
        return self

    def accepts(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"pgbouncer exited: {self.log.read_text()}")
        try:
            with self.raw("tp"):
                return True
        except psycopg.OperationalError:
            return False

    def raw(self, database: str) -> psycopg.Connection:
        """A plain psycopg client: what a naive application does with the pool."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, dbname=database, user=connection.settings_dict["USER"],
            autocommit=True, prepare_threshold=None,
        )  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def pgbouncer(django_db_setup, tmp_path_factory):
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (Debian's package `pgbouncer`; .ci/run installs it)")
    bouncer = PgBouncer(tmp_path_factory.mktemp("pgbouncer"), connection.settings_dict).start()
    yield bouncer
    bouncer.stop()


def pooled(pgbouncer, database="tp", mode="transaction", alias="pooled") -> DatabaseWrapper:
    """Our backend, connected through PgBouncer, registered as ``alias`` on this thread."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict.update(
        HOST="127.0.0.1", PORT=str(pgbouncer.port), NAME=database, POOL_MODE=mode, CONN_MAX_AGE=0
    )
    settings_dict.pop("DISABLE_SERVER_SIDE_CURSORS", None)
    # PgBouncer 1.18 refuses the `options` startup parameter (the suite's lock_timeout): behind a
    # pooler such defaults go on the role (ALTER ROLE ... SET), README "Connection pooling".
    settings_dict["OPTIONS"].pop("options", None)
    wrapper = DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    return wrapper


def owners_seen(wrapper) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute(
            f"SELECT email FROM {get_user_model()._meta.db_table} WHERE email LIKE %s ORDER BY email",
            ["owner@%"],
        )
        return [row[0] for row in cursor.fetchall()]


def shown_path(wrapper_or_raw) -> str:
    with wrapper_or_raw.cursor() as cursor:
        cursor.execute("SHOW search_path")
        return cursor.fetchone()[0]


@pytest.fixture
def close_pooled():
    yield
    for alias in ("pooled", "pooled_b"):
        if hasattr(connections._connections, alias):
            connections[alias].close()
            del connections[alias]


# --- Why the mode exists: the controls ----------------------------------------------------------


def test_a_plain_set_search_path_stays_on_the_server_connection_for_the_next_client(pgbouncer):
    with pgbouncer.raw("tp_one") as first, pgbouncer.raw("tp_one") as second:
        first.execute("SET search_path = globex")
        # The pool's only server connection, handed to another client, still has globex's path.
        assert shown_path(second) == "globex"
        second.execute("RESET search_path")


def test_our_session_mode_backend_behind_a_transaction_pooler_reads_another_tenants_rows(
    pgbouncer, tenant, other_tenant, close_pooled
):
    session_backend = pooled(pgbouncer, "tp_one", mode="session")
    session_backend.set_tenant(tenant)
    assert owners_seen(session_backend) == [OWNER_OF["acme"]]
    with pgbouncer.raw("tp_one") as neighbour:
        neighbour.execute("SET search_path = globex")
    # The backend skips the SET it believes the connection has: acme's request reads globex's rows.
    assert owners_seen(session_backend) == [OWNER_OF["globex"]]
    with pgbouncer.raw("tp_one") as neighbour:
        neighbour.execute("RESET search_path")


def test_session_pooling_resets_the_path_before_the_next_client(pgbouncer):
    with pgbouncer.raw("tp_session") as first:
        first.execute("SET search_path = globex")
        server_pid = first.execute("SELECT pg_backend_pid()").fetchone()[0]
    with pgbouncer.raw("tp_session") as second:
        assert second.execute("SELECT pg_backend_pid()").fetchone()[0] == server_pid
        assert shown_path(second) == '"$user", public'


# --- The transaction mode ---------------------------------------------------------------------


def test_transaction_mode_reads_its_tenant_on_a_server_connection_another_client_left_dirty(
    pgbouncer, tenant, other_tenant, close_pooled
):
    backend = pooled(pgbouncer, "tp_one")
    with pgbouncer.raw("tp_one") as neighbour:
        neighbour.execute("SET search_path = globex")
        backend.set_tenant(tenant)
        assert owners_seen(backend) == [OWNER_OF["acme"]]
        backend.set_tenant(other_tenant)
        assert owners_seen(backend) == [OWNER_OF["globex"]]
        backend.set_tenant(tenant)
        assert owners_seen(backend) == [OWNER_OF["acme"]]
        # ...and leaves nothing of its own on the server connection.
        assert shown_path(neighbour) == "globex"
        neighbour.execute("RESET search_path")
        assert owners_seen(backend) == [OWNER_OF["acme"]]
        assert shown_path(neighbour) == '"$user", public'


def test_a_transaction_sees_its_own_schema_throughout(pgbouncer, tenant, other_tenant, close_pooled):
    backend = pooled(pgbouncer, "tp")
    others = pooled(pgbouncer, "tp", alias="pooled_b")
    others.set_tenant(other_tenant)
    backend.set_tenant(tenant)
    with transaction.atomic(using="pooled"):
        assert owners_seen(backend) == [OWNER_OF["acme"]]
        # Another client works on globex meanwhile, on the pool's other server connection.
        assert owners_seen(others) == [OWNER_OF["globex"]]
        assert shown_path(backend).startswith("acme")
        try:
            with transaction.atomic(using="pooled"):
                backend.set_tenant(other_tenant)
                assert owners_seen(backend) == [OWNER_OF["globex"]]
                with backend.cursor() as cursor:
                    cursor.execute("SELECT 1 / 0")
        except DataError:
            pass
        # The rollback to the savepoint undid globex's SET LOCAL; the path asked for is set again.
        assert owners_seen(backend) == [OWNER_OF["globex"]]
        backend.set_tenant(tenant)
        assert owners_seen(backend) == [OWNER_OF["acme"]]
        assert owners_seen(others) == [OWNER_OF["globex"]]
        assert shown_path(backend).startswith("acme")


def test_executemany_and_iterator_run_in_the_tenants_schema(pgbouncer, tenant, close_pooled):
    backend = pooled(pgbouncer, "tp")
    backend.set_tenant(tenant)
    table = get_user_model()._meta.db_table
    with backend.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET email = email WHERE email = %s", [[OWNER_OF["acme"]], [OWNER_OF["globex"]]]
        )
        assert cursor.rowcount == 1  # acme's owner only: globex's is in another schema
    emails = get_user_model().objects.using("pooled").filter(email__startswith="owner@")
    assert [user.email for user in emails.iterator(chunk_size=1)] == [OWNER_OF["acme"]]


def test_two_tenants_interleaved_over_shared_server_connections_never_see_each_others_rows(
    pgbouncer, tenant, other_tenant
):
    tenants = {"acme": tenant, "globex": other_tenant}
    wrong, server_pids, done = [], set(), []
    lock = threading.Lock()

    def client(seed: int):
        rng = random.Random(seed)
        backend = pooled(pgbouncer, "tp")
        try:
            for _ in range(60):
                slug = rng.choice(list(tenants))
                backend.set_tenant(tenants[slug])
                if rng.random() < 0.5:
                    seen = [owners_seen(backend)]
                else:
                    with transaction.atomic(using="pooled"):
                        seen = [owners_seen(backend), owners_seen(backend)]
                with backend.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
                with lock:
                    server_pids.add(pid)
                    wrong.extend((slug, owners) for owners in seen if owners != [OWNER_OF[slug]])
            done.append(seed)
        finally:
            backend.close()

    def naive_neighbour():
        # Leaves a session path on whichever server connection it gets, as a naive client would.
        with pgbouncer.raw("tp") as raw:
            for index in range(120):
                raw.execute(f"SET search_path = {('acme', 'globex')[index % 2]}")
        done.append("neighbour")

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(4)]
    threads.append(threading.Thread(target=naive_neighbour))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pgbouncer.raw("tp") as raw, pgbouncer.raw("tp") as other:
        raw.execute("RESET search_path")
        other.execute("RESET search_path")

    assert sorted(done, key=str) == [0, 1, 2, 3, "neighbour"]
    assert len(server_pids) <= 2  # four clients shared the pool's two server connections
    assert wrong == []


def test_a_request_through_pgbouncer_signs_in_on_its_own_tenant_only(
    pgbouncer, transactional_db, tenant, other_tenant
):
    """The Django test client, with the default database pointed at PgBouncer in transaction mode."""
    direct = connections["default"]
    backend = pooled(pgbouncer, "tp", alias="default")
    through_pgbouncer = []

    def opened(sender, connection, **kwargs):
        if connection.settings_dict["PORT"] == str(pgbouncer.port):
            through_pgbouncer.append(connection.alias)

    connection_created.connect(opened)
    try:
        for _ in range(3):
            acme = Client(HTTP_HOST=tenant.primary_host)
            signed_in = acme.post("/accounts/sign-in/", {"username": OWNER_OF["acme"], "password": PASSWORD})
            assert signed_in.status_code == 302
            assert acme.get("/projects/").status_code == 200

            # acme's owner does not exist in globex's schema.
            globex = Client(HTTP_HOST=other_tenant.primary_host)
            refused = globex.post("/accounts/sign-in/", {"username": OWNER_OF["acme"], "password": PASSWORD})
            assert refused.status_code == 200
            assert "_auth_user_id" not in globex.session
            assert globex.get("/projects/").status_code == 302  # to the sign-in page
        assert through_pgbouncer  # the requests' queries went through PgBouncer
    finally:
        connection_created.disconnect(opened)
        backend.close()
        connections["default"] = direct


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT pg_try_advisory_lock(42)",
        "SELECT pg_advisory_unlock(42)",
        "LISTEN tenant_changes",
        "CREATE TEMP TABLE scratch (id int)",
        "SET search_path = globex",
        "SET ROLE postgres",
    ],
)
def test_transaction_mode_refuses_what_would_outlive_the_transaction(
    pgbouncer, tenant, close_pooled, statement
):
    backend = pooled(pgbouncer, "tp")
    backend.set_tenant(tenant)
    with pytest.raises(NotSupportedError, match="direct connection"):
        with backend.cursor() as cursor:
            cursor.execute(statement)


def test_transaction_mode_runs_the_transaction_level_forms(pgbouncer, tenant, close_pooled):
    backend = pooled(pgbouncer, "tp")
    backend.set_tenant(tenant)
    with transaction.atomic(using="pooled"), backend.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(42)")
        assert cursor.fetchone() == (True,)
        cursor.execute("SET LOCAL lock_timeout = '1s'")
        assert owners_seen(backend) == [OWNER_OF["acme"]]


@pytest.mark.parametrize(
    "statement, outside",
    [
        ("VACUUM acme.accounts_user", True),
        ("CREATE DATABASE scratch", True),
        ("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)", True),
        ("drop index concurrently i", True),
        ("REINDEX TABLE CONCURRENTLY t", True),
        ("ALTER TABLE t DETACH PARTITION p CONCURRENTLY", True),
        ("SELECT 'run concurrently'", False),
        ("CREATE INDEX i ON t (a)", False),
    ],
)
def test_only_statements_postgresql_refuses_in_a_transaction_go_without_the_path(statement, outside):
    assert pooling.runs_outside_transaction_block(statement) is outside


def test_a_vacuum_runs_through_the_pooler_in_transaction_mode(pgbouncer, tenant, close_pooled):
    backend = pooled(pgbouncer, "tp")
    backend.set_tenant(tenant)
    with backend.cursor() as cursor:
        cursor.execute(f"VACUUM acme.{get_user_model()._meta.db_table}")
    assert owners_seen(backend) == [OWNER_OF["acme"]]


# --- Settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        ({"POOL_MODE": "statement"}, "POOL_MODE must be one of"),
        ({"POOL_MODE": "transaction", "OPTIONS": {"server_side_binding": True}}, "client-side binding"),
        ({"POOL_MODE": "transaction", "OPTIONS": {"prepare_threshold": 5}}, "prepared statements"),
        ({"POOL_MODE": "transaction", "OPTIONS": {"assume_role": "someone"}}, "SET ROLE"),
    ],
)
def test_a_pool_mode_that_cannot_be_safe_is_refused_at_startup(change, message):
    settings_dict = {**copy.deepcopy(connection.settings_dict), **change}
    with pytest.raises(ImproperlyConfigured, match=message):
        DatabaseWrapper(settings_dict, "refused")


def test_transaction_mode_turns_server_side_cursors_off():
    settings_dict = {**copy.deepcopy(connection.settings_dict), "POOL_MODE": "transaction"}
    settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False
    assert DatabaseWrapper(settings_dict, "pooled_settings").settings_dict["DISABLE_SERVER_SIDE_CURSORS"]
