"""Ready schemas for new tenants, so provisioning runs no migration in the request.

A new tenant's schema comes from the first of three paths that can serve it, all inside the
provisioning transaction (tenants.services), so a failure at any step leaves nothing behind and
the tenant exists for others only once its schema is complete:

1. **The pool**: a spare schema, migrated ahead of time (``_spare_<hex>``, one ``SpareSchema`` row
   each), claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two provisionings never get the same
   spare, and neither waits for the other) and renamed to the tenant's schema. Milliseconds.
2. **The template image**: the SQL of a migrated template schema (``_tenant_template``), captured
   once per migration state with ``pg_dump`` (tables, constraints, indexes, identity sequences and
   the rows data migrations wrote: content types, permissions, role groups), replayed under the new
   name. Measured against django-tenants' ``clone_schema`` in bench/provisioning.py: the replay is
   faster (bench/RESULTS.md).
3. **Migrations**: django-tenants' own path, every migration replayed into a new schema.

Readiness is tied to the migrations: a spare and the image record a hash of the django_migrations
rows of the schema they were made from, and only those whose hash equals the hash of the
migrations this code ships are used. After a deploy that adds a migration, stale spares are never
handed out; ``refill_pool`` (the beat job ``tenants.refill_pool`` and ``manage.py
refill_tenant_pool``) drops them, rebuilds the template and its image, and makes new spares.

Schema names starting with an underscore are never a tenant's: slugs start with a letter.
"""

import functools
import glob
import hashlib
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connection, router, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.utils import schema_exists

from tenants.models import SchemaImage, SpareSchema

logger = logging.getLogger(__name__)

TEMPLATE_SCHEMA = "_tenant_template"
SPARE_PREFIX = "_spare_"
# One refill at a time across every process (a session-level advisory lock); the key is arbitrary.
REFILL_LOCK_KEY = 0x7E4A_4E7F
# The template's name in its image, as a whole identifier (never inside a longer one).
TEMPLATE_NAME_RE = re.compile(rf"\b{TEMPLATE_SCHEMA}\b")
# pg_dump's session set-up and psql meta-commands (\restrict): lines the image must not run, since
# a plain SET outlives the transaction (search_path '' would break every later query).
SESSION_LINE_RE = re.compile(r"^(SET |SELECT pg_catalog\.set_config\(|\\|--).*$", re.MULTILINE)
# Where Debian's postgresql-client-<major> packages put pg_dump (the image installs one).
DEBIAN_PG_DUMP_GLOB = "/usr/lib/postgresql/*/bin/pg_dump"

Progress = Callable[[int, int], None]


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def current_migration_state() -> str:
    """Hash of the migrations this code ships: what a fully migrated tenant schema has recorded.
    The code does not change under a running process, so it is computed once."""
    return _state_hash(recorded_migrations(MigrationLoader(None, ignore_no_migrations=True)))


def recorded_migrations(loader: MigrationLoader) -> set[tuple[str, str]]:
    """What a schema migrated to ``loader``'s migrations records in django_migrations: the graph's
    nodes, and for a squashed migration (wagtail ships some) the ones it replaces, which Django
    records too."""
    recorded = set(loader.graph.nodes)
    for migration in loader.graph.nodes.values():
        recorded.update(migration.replaces or ())
    return recorded


def schema_migration_state(schema: str) -> str:
    """Hash of the migrations recorded in ``schema``'s django_migrations table."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")
        return _state_hash(cursor.fetchall())


def _state_hash(migrations) -> str:
    lines = sorted(f"{app}.{name}" for app, name in migrations)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


# --- In the provisioning transaction ------------------------------------------------------------


def create_tenant_schema(schema: str, migrate: Callable[[], None]) -> str:
    """Put a complete schema named ``schema`` in place by the fastest path that can serve it, and
    return the path's name: "pool", "template" or "migrations" (which calls ``migrate``).

    Must run inside the caller's transaction: the claim, the rename or the replay are undone with
    the caller's rows if anything fails later."""
    if not connection.in_atomic_block:
        raise RuntimeError("create_tenant_schema must run inside the provisioning transaction")
    if claim_spare(schema):
        return "pool"
    if copy_template(schema):
        return "template"
    migrate()
    return "migrations"


def claim_spare(schema: str) -> bool:
    """Rename a ready spare to ``schema``; False when the pool has none for this code's migrations."""
    spare = (
        SpareSchema.objects.select_for_update(skip_locked=True)
        .filter(migration_state=current_migration_state())
        .order_by("pk")
        .first()
    )
    if spare is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SCHEMA {quote(spare.schema_name)} RENAME TO {quote(schema)}")
    spare.delete()
    logger.debug("schema %s is the spare %s", schema, spare.schema_name)
    return True


def copy_template(schema: str) -> bool:
    """Replay the template's image as ``schema``; False when no image matches this code's migrations."""
    sql = (
        SchemaImage.objects.filter(migration_state=current_migration_state())
        .values_list("sql", flat=True)
        .first()
    )
    if sql is None:
        return False
    replay_image(sql, schema)
    return True


def replay_image(sql: str, schema: str) -> None:
    # Schema names of tenants and spares are [a-z_][a-z0-9_]*: they need no quoting in the image.
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ValueError(f"not a schema name the image can take: {schema!r}")
    with connection.cursor() as cursor:
        cursor.execute(TEMPLATE_NAME_RE.sub(schema, sql))


# --- Refill (beat job, operator command) ----------------------------------------------------------


@dataclass(frozen=True)
class RefillReport:
    ready: int  # spares of this code's migrations, after the refill
    made: int
    dropped: int  # stale spares: made for other migrations
    template_rebuilt: bool
    skipped: bool = False  # another refill held the lock


def pool_size() -> int:
    return settings.TENANT_POOL_SIZE


def refill_pool(size: int | None = None, progress: Progress | None = None) -> RefillReport:
    """Bring the pool to ``size`` ready spares (TENANT_POOL_SIZE by default): drop spares made for
    other migrations, rebuild the template image if the migrations changed, then make the spares
    missing, one transaction each. ``progress(done, total)`` is called after each spare.

    Runs outside any transaction (migrating the template commits). A second refill while one runs
    returns at once with ``skipped``: both would make the same missing spares."""
    size = pool_size() if size is None else size
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFILL_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return RefillReport(ready=ready_spares(), made=0, dropped=0, template_rebuilt=False, skipped=True)
    try:
        dropped = drop_stale_spares()
        image, rebuilt = ensure_template_image()
        missing = max(0, size - ready_spares())
        if progress:
            progress(0, missing)
        for done in range(1, missing + 1):
            make_spare(image)
            if progress:
                progress(done, missing)
        report = RefillReport(ready=ready_spares(), made=missing, dropped=dropped, template_rebuilt=rebuilt)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [REFILL_LOCK_KEY])
    # Beat refills every minute: a line at INFO only when the refill changed something.
    logger.log(
        logging.INFO if report.made or report.dropped or report.template_rebuilt else logging.DEBUG,
        "tenant pool: %d ready (%d made, %d stale dropped)",
        report.ready,
        report.made,
        report.dropped,
    )
    return report


def ready_spares() -> int:
    return SpareSchema.objects.filter(migration_state=current_migration_state()).count()


def drop_stale_spares() -> int:
    """Drop the spares made for other migrations. Each is locked first (SKIP LOCKED), so a spare
    being handed out at this moment is neither dropped nor waited for."""
    dropped = 0
    stale = SpareSchema.objects.exclude(migration_state=current_migration_state())
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            spare = SpareSchema.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if spare is None:
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {quote(spare.schema_name)} CASCADE")
            spare.delete()
            dropped += 1
    return dropped


def make_spare(image: SchemaImage) -> SpareSchema:
    name = f"{SPARE_PREFIX}{uuid.uuid4().hex}"
    with transaction.atomic():
        replay_image(image.sql, name)
        # The spare's readiness is what its own rows say, not what the image claimed.
        return SpareSchema.objects.create(schema_name=name, migration_state=schema_migration_state(name))


def ensure_template_image() -> tuple[SchemaImage, bool]:
    """The image of this code's migrations, built (template migrated, then dumped) if missing."""
    state = current_migration_state()
    image = SchemaImage.objects.filter(migration_state=state).first()
    if image is not None:
        return image, False
    if connection.in_atomic_block:
        # pg_dump is another session: it sees the template only once its migrations are committed.
        raise RuntimeError("the template image is built outside any transaction")
    build_template()
    sql = dump_schema(TEMPLATE_SCHEMA)
    with transaction.atomic():
        SchemaImage.objects.exclude(migration_state=state).delete()
        image = SchemaImage.objects.create(migration_state=state, sql=sql)
    logger.info("tenant template image rebuilt for migration state %s", state[:12])
    return image, True


def migrate_empty_schema(schema: str) -> None:
    """Create ``schema`` and migrate it from nothing to this code's migrations, in the caller's
    transaction if there is one.

    django-tenants' path (``migrate_schemas --schema``) plans every app's migrations. Its router
    skips the operations of apps outside TENANT_APPS in a tenant schema, but Django still applies
    each skipped migration's state changes, and Wagtail's (public schema only) made a new schema
    about 5 times slower (bench/RESULTS.md, "Wagtail and provisioning"). Here the plan stops at the
    tenant apps' leaf migrations and what they depend on; the other apps' migrations, which a
    tenant schema could only record, are recorded as applied, so django_migrations ends the same as
    after ``migrate_schemas`` (the pool's readiness hash and migrate_tenants read it). post_migrate
    writes the content types and permissions of the tenant apps, not of the public-only apps."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    # The recorder's table goes into the new schema, not public's (django-tenants does the same).
    connection.set_schema(schema, include_public=False)
    try:
        recorder = MigrationRecorder(connection)
        recorder.ensure_schema()
        connection.set_schema(schema)
        executor = MigrationExecutor(connection)
        targets = [
            key
            for key in executor.loader.graph.leaf_nodes()
            if router.allow_migrate(connection.alias, key[0])
        ]
        plan = executor.migration_plan(targets)
        state = executor._create_project_state(with_applied_migrations=True)
        emit_pre_migrate_signal(0, False, connection.alias, apps=state.apps, plan=plan)
        state = executor.migrate(targets, plan=plan, state=state.clone())
        emit_post_migrate_signal(0, False, connection.alias, apps=state.apps, plan=plan)
        recorded = set(recorder.applied_migrations())
        missing = sorted(recorded_migrations(executor.loader) - recorded)
        recorder.migration_qs.bulk_create(recorder.Migration(app=app, name=name) for app, name in missing)
    finally:
        connection.set_schema_to_public()


def build_template() -> None:
    """(Re)create the template schema and migrate it from nothing (``migrate_empty_schema``)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(TEMPLATE_SCHEMA)} CASCADE")
    migrate_empty_schema(TEMPLATE_SCHEMA)
    state = schema_migration_state(TEMPLATE_SCHEMA)
    if state != current_migration_state():
        raise RuntimeError("the migrated template does not record this code's migrations")


def _pg_dump_candidates():
    """Where a pg_dump may be: the PG_DUMP variable, the embedded server's own binaries (pgserver, on
    a developer's machine), Debian's versioned client directories (newest first), then the PATH."""
    if os.environ.get("PG_DUMP"):
        yield os.environ["PG_DUMP"]
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        yield str(Path(spec.origin).parent / "pginstall" / "bin" / "pg_dump")
    yield from sorted(
        glob.glob(DEBIAN_PG_DUMP_GLOB),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
        reverse=True,
    )
    if found := shutil.which("pg_dump"):
        yield found


@functools.cache
def pg_dump_path(server_major: int) -> str:
    """A pg_dump that can read a server of ``server_major``: pg_dump refuses a newer server than its
    own version (the system client 15 cannot dump the embedded server 16), and its output is surest
    to replay on the same major, so the closest version at or above the server's wins."""
    usable = []
    for order, candidate in enumerate(_pg_dump_candidates()):
        try:
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        match = re.search(r"(\d+)(?:\.\d+)?", version)
        if match and int(match.group(1)) >= server_major:
            usable.append((int(match.group(1)), order, candidate))
    return min(usable)[2] if usable else "pg_dump"  # none: running it raises the clear error below


def dump_schema(schema: str) -> str:
    """The SQL that recreates ``schema`` with its rows (pg_dump, plain INSERTs), without the
    session settings and meta-commands that only psql may run."""
    db = connection.settings_dict
    command = [
        pg_dump_path(connection.pg_version // 10000),
        "--schema",
        schema,
        "--no-owner",
        "--no-privileges",
        "--inserts",
        "--rows-per-insert=1000",
        "--dbname",
        db["NAME"],
    ]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        raise RuntimeError(
            "pg_dump is not installed: the refill needs the PostgreSQL client tools, "
            "of the server's major version or newer"
        ) from None
    if result.returncode:
        raise RuntimeError(f"pg_dump of {schema} failed: {result.stderr.strip()}")
    dump = result.stdout
    # Session lines sit before the first row and after the last statement; a row's text (a
    # multi-line string) may hold anything, so only the head and the tail are filtered.
    head, sep, body = dump.partition("\nINSERT INTO ")
    body, tail_sep, tail = body.rpartition("\n\\unrestrict ")
    if not tail_sep:
        body = body + tail
    return SESSION_LINE_RE.sub("", head) + sep + body


def drop_spares() -> int:
    """Drop every spare (the bench and the tests empty the pool with it)."""
    with transaction.atomic():
        spares = list(SpareSchema.objects.select_for_update(skip_locked=True).order_by("pk"))
        with connection.cursor() as cursor:
            for spare in spares:
                cursor.execute(f"DROP SCHEMA IF EXISTS {quote(spare.schema_name)} CASCADE")
        SpareSchema.objects.filter(pk__in=[spare.pk for spare in spares]).delete()
    return len(spares)


def template_exists() -> bool:
    return schema_exists(TEMPLATE_SCHEMA)
