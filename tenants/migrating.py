"""Migrating every tenant's schema: ``manage.py migrate_tenants`` (also ``migrate_schemas
--executor=tenants``, tenants.migration_executor).

**Finding the work without a run per schema.** django-tenants boots Django's ``migrate`` in every
schema, and each boot introspects the catalog (``pg_table_is_visible`` over every ``pg_class`` row)
several times: the cost of doing nothing grows with the square of the tenants. Here one statement
per chunk of schemas hashes each schema's ``django_migrations`` rows (the hash tenants.pool uses for
spares), and one catalog query, by name through ``pg_class``'s index, finds the schemas that have the
table. A schema whose hash is the code's is done; the others are grouped by hash, and one schema of
each group is read to make the group's plan. Nothing to do costs O(1) queries, whatever the count.

**Applying.** Each schema is migrated in one transaction (PostgreSQL's DDL is transactional): a
tenant is on the old version or on the new one, never between; a failure rolls that schema back
and the others go on. Schemas are spread over TENANT_MIGRATE_PROCESSES forked processes, each with
its own connection.

**Compiled once, where a migration allows it.** Rendering Django's project state and running the
schema editor costs far more per schema than the DDL itself. For a group whose plan holds only
operations whose SQL depends on nothing but the migrations (fields, indexes, constraints, RunSQL:
``COMPILABLE``), the first schema of the group (the pilot) is migrated by Django's executor while
every statement its schema editor sends is recorded; the other schemas of the group replay those
statements under their own ``search_path`` and record the same django_migrations rows. Django writes
table names unqualified and names constraints and indexes from table and column names, so the
statements are the same in every schema made by the same migrations (a spare is a renamed copy, the
template image a dump: names are kept). A statement naming the pilot's schema turns the compilation
off. A replay that fails in a schema is retried there with Django's executor, so a schema that
differs gets the exact treatment. Everything else (RunPython, models created, renamed or deleted,
whose content types and permissions post_migrate writes, non-atomic migrations) takes Django's
executor in every schema. Chosen over Django's executor everywhere because the replay is a few
round trips per schema, and over generating SQL without a pilot (``sqlmigrate``) because a pilot
proves the SQL on a real schema first and introspection-dependent operations (AlterField finding a
constraint's name) get real answers.

**Held while migrating.** Before a tenant's transaction starts, ``Tenant.held_until`` is set (now +
TENANT_MIGRATE_HOLD_SECONDS) and committed; it is cleared after. The field travels in the cached
host entry (tenants.routing), and its update forgets the tenant's hosts and bumps the host cache's
version: this process sees the hold at once, others within TENANT_HOST_LOCAL_SECONDS. Held pages
answer 503 with Retry-After (tenants.middleware), held tasks are sent again later (config/celery.py).
A request that arrives before its process has seen the hold is not harmed: it waits on the
migration's table locks and then sees the new version. No migration running, nothing is checked
beyond the cached entry: a warm host still costs no network call. A crashed run's holds lapse at
``held_until``.

**Spares and the template** (tenants.pool) are migrated like tenants (unheld: nobody uses them),
and a migrated spare's recorded state is updated, so the pool keeps serving after a deploy without
dropping and rebuilding. A migrated template gets a new image (one pg_dump) at the end.

**Resume.** A run is recorded (MigrationRun, one MigrationRunSchema per schema done). A run that
did not finish (killed, crashed) blocks the next one until ``--resume``, which continues it: the
django_migrations tables say which schemas are still behind, its holds are released, and the
summary covers the whole run. One run at a time (an advisory lock).
"""

import logging
import multiprocessing
import re
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection, connections, migrations, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenants import pool
from tenants.models import MigrationRun, MigrationRunSchema, SchemaImage, SpareSchema, Tenant

logger = logging.getLogger(__name__)

# One run at a time across every process (a session-level advisory lock; the key is arbitrary).
RUN_LOCK_KEY = 0x7E4A_4D31
# Schemas hashed per statement: a UNION of this many small aggregates plans in milliseconds.
STATE_CHUNK = 1000
# Operations whose SQL is the same in every schema with the same history (see the docstring).
COMPILABLE = (
    migrations.AddField,
    migrations.RemoveField,
    migrations.AlterField,
    migrations.RenameField,
    migrations.AddIndex,
    migrations.RemoveIndex,
    migrations.RenameIndex,
    migrations.AddConstraint,
    migrations.RemoveConstraint,
    migrations.AlterUniqueTogether,
    migrations.AlterIndexTogether,
    migrations.AlterModelTableComment,
    migrations.RunSQL,
)

Progress = Callable[[int, int], None]
Plan = list[tuple[str, str]]


class RunRefused(Exception):
    """The run cannot start: another is running, or an unfinished one needs ``--resume``."""


@dataclass
class SchemaResult:
    schema: str
    outcome: str  # MigrationRunSchema.Outcome
    applied: int
    seconds: float
    held: bool
    error: str = ""


@dataclass
class RunReport:
    run_id: int | None
    schemas_checked: int
    results: list[SchemaResult] = field(default_factory=list)
    public_migrated: bool = False
    template_image_rebuilt: bool = False

    @property
    def failures(self) -> list[SchemaResult]:
        return [r for r in self.results if r.outcome == MigrationRunSchema.Outcome.FAILED]


@dataclass
class Job:
    """One schema's work, sent to a worker process (plain data: it is pickled)."""

    schema: str
    plan: Plan
    is_tenant: bool
    is_spare: bool
    target_state: str
    statements: list[tuple[str, list | None]] | None = None  # the group's compiled SQL, if any


# --- Finding the work ------------------------------------------------------------------------------


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def target_state() -> tuple[str, MigrationLoader]:
    """The hash every migrated schema records, and the loader of this code's migrations."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return pool._state_hash(pool.recorded_migrations(loader)), loader


def schema_states(schemas: list[str], connections: int = 1) -> dict[str, str]:
    """Each schema's migration hash (tenants.pool's), read in one statement per STATE_CHUNK schemas,
    the statements spread over ``connections`` database connections at once; a schema without a
    django_migrations table is left out. One catalog query finds those through pg_class's
    (relname, relnamespace) index, never a scan of the catalog per schema.

    What each schema costs is the server opening its table (a fresh session knows none of them),
    about half a millisecond: 10,000 schemas are seconds, which more connections divide."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND n.nspname = ANY(%s)",
            [schemas],
        )
        present = sorted(name for (name,) in cursor.fetchall())
    chunks = [present[start : start + STATE_CHUNK] for start in range(0, len(present), STATE_CHUNK)]
    if connections <= 1 or len(chunks) <= 1:
        return {schema: state for chunk in chunks for schema, state in _chunk_states(chunk)}
    states: dict[str, str] = {}
    with ThreadPoolExecutor(min(connections, len(chunks))) as threads:
        # Each thread has Django connections of its own: closed when its work is done.
        for rows in threads.map(_chunk_states_then_close, chunks):
            states.update(rows)
    return states


# The same text as pool._state_hash: lines "app.name" in code point order (COLLATE "C"), joined by
# newlines, sha256 in hex.
_STATE_DIGEST = (
    "encode(sha256(convert_to(coalesce(string_agg(app || '.' || name, E'\\n' "
    "ORDER BY (app || '.' || name) COLLATE \"C\"), ''), 'UTF8')), 'hex')"
)


def _chunk_states(chunk: list[str]) -> list[tuple[str, str]]:
    sql = " UNION ALL ".join(
        f"(SELECT %s, {_STATE_DIGEST} FROM {quote(schema)}.django_migrations)" for schema in chunk
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, chunk)
        return cursor.fetchall()


def _chunk_states_then_close(chunk: list[str]) -> list[tuple[str, str]]:
    try:
        return _chunk_states(chunk)
    finally:
        connection.close()


def applied_in(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")
        return set(cursor.fetchall())


def plan_for(loader: MigrationLoader, applied: set[tuple[str, str]]) -> Plan:
    """The migrations to apply, in order, to a schema that has ``applied``."""
    plan: Plan = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        for node in loader.graph.forwards_plan(leaf):
            if node not in applied and node not in plan:
                plan.append(node)
    return plan


def is_compilable(loader: MigrationLoader, plan: Plan) -> bool:
    """Every migration of ``plan`` is atomic and made only of COMPILABLE operations."""
    for key in plan:
        migration = loader.graph.nodes[key]
        if not migration.atomic:
            return False
        for operation in migration.operations:
            if not isinstance(operation, COMPILABLE):
                return False
            if isinstance(operation, migrations.RunSQL) and not all(
                isinstance(op, COMPILABLE) for op in operation.state_operations
            ):
                return False
    return True


# --- Holds -----------------------------------------------------------------------------------------


def hold_tenant(schema: str) -> None:
    """Hold the tenant of ``schema`` (pages 503, tasks deferred) until ``release_tenant`` or
    TENANT_MIGRATE_HOLD_SECONDS. The update forgets its cached hosts (tenants.models)."""
    until = timezone.now() + timedelta(seconds=settings.TENANT_MIGRATE_HOLD_SECONDS)
    Tenant.objects.filter(schema_name=schema).update(held_until=until)


def release_tenant(schema: str) -> None:
    Tenant.objects.filter(schema_name=schema, held_until__isnull=False).update(held_until=None)


def retry_after_seconds(tenant: Tenant) -> int:
    """What a held tenant's 503 says in Retry-After, and how long its tasks wait: a tenant's
    migration takes seconds, so a short wait, never past the hold itself."""
    left = (tenant.held_until - timezone.now()).total_seconds() if tenant.held_until else 0
    return max(1, min(settings.TENANT_MIGRATE_RETRY_SECONDS, int(left) + 1))


# --- One schema ------------------------------------------------------------------------------------


class _SchemaExecutor(MigrationExecutor):
    """Django's executor on a loader we built, with the applied set we read: its own constructor
    would read django_migrations through the catalog-scanning ``has_table`` check."""

    def __init__(self, conn, loader: MigrationLoader):
        self.connection = conn
        self.loader = loader
        self.recorder = MigrationRecorder(conn)
        self.recorder._has_table = True  # the run found the table (schema_states)
        self.progress_callback = None


def _apply_with_executor(schema: str, capture: list | None = None) -> int:
    """Apply what ``schema`` lacks with Django's executor, in the caller's transaction, then
    post_migrate (content types, permissions) as ``migrate`` would. With ``capture``, every
    statement the schema editor sends is appended to it."""
    connection.set_schema(schema)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    loader.applied_migrations = {key: None for key in applied_in(schema)}
    plan_keys = plan_for(loader, set(loader.applied_migrations))
    if not plan_keys:
        return 0
    executor = _SchemaExecutor(connection, loader)
    plan = [(loader.graph.nodes[key], False) for key in plan_keys]
    editor_class = connection.SchemaEditorClass
    original = editor_class.execute
    if capture is not None:

        def execute(editor, sql, params=()):
            # () and None differ: with (), psycopg interpolates (a literal %% becomes %).
            capture.append((str(sql), None if params is None else list(params)))
            return original(editor, sql, params)

        editor_class.execute = execute
    try:
        state = executor.migrate(plan_keys, plan=plan)
    finally:
        editor_class.execute = original
    emit_post_migrate_signal(0, False, connection.alias, apps=state.apps, plan=plan)
    return len(plan_keys)


def _apply_compiled(schema: str, job: Job) -> int:
    connection.set_schema(schema)
    with connection.cursor() as cursor:
        for sql, params in job.statements:
            cursor.execute(sql, params)
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "SELECT app, name, now() FROM unnest(%s::text[], %s::text[]) AS m(app, name)",
            [[app for app, _ in job.plan], [name for _, name in job.plan]],
        )
    return len(job.plan)


def migrate_schema(job: Job, capture: list | None = None) -> SchemaResult:
    """Migrate one schema in one transaction, holding its tenant meanwhile; never raises."""
    started = time.monotonic()
    outcome, applied, error = MigrationRunSchema.Outcome.OK, 0, ""
    if job.is_tenant:
        hold_tenant(job.schema)
    try:
        applied = _migrate_in_transaction(job, capture)
    except Exception as exc:
        outcome = MigrationRunSchema.Outcome.FAILED
        error = f"{type(exc).__name__}: {exc}".strip()
        logger.warning("migrating schema %s failed; rolled back", job.schema, exc_info=True)
    finally:
        connection.set_schema_to_public()
        if job.is_tenant:
            release_tenant(job.schema)
    return SchemaResult(job.schema, outcome, applied, time.monotonic() - started, job.is_tenant, error)


def _migrate_in_transaction(job: Job, capture: list | None) -> int:
    if job.statements is not None:
        try:
            with transaction.atomic():
                if not _claim_spare(job):
                    return 0
                return _apply_compiled(job.schema, job)
        except Exception:
            # This schema differs from the pilot's: the exact path decides.
            logger.info("compiled SQL failed in %s; using Django's executor there", job.schema, exc_info=True)
            connection.set_schema_to_public()
    with transaction.atomic():
        if not _claim_spare(job):
            return 0
        return _apply_with_executor(job.schema, capture)


def _claim_spare(job: Job) -> bool:
    """A spare is locked for its migration, and its recorded state updated with it; a spare being
    handed out to a tenant at this moment (locked) is left alone. True for other schemas."""
    if not job.is_spare:
        return True
    connection.set_schema_to_public()
    spare = SpareSchema.objects.select_for_update(skip_locked=True).filter(schema_name=job.schema).first()
    if spare is None:
        return False
    spare.migration_state = job.target_state
    spare.save(update_fields=["migration_state"])
    return True


# --- The run ---------------------------------------------------------------------------------------


def migrate_tenants(
    *,
    processes: int | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    only: set[str] | None = None,
) -> RunReport:
    """Bring every tenant schema, spare and the template (or the schemas in ``only``) to this
    code's migrations (the public schema first, if it is behind). Raises RunRefused when another
    run holds the lock, when an unfinished run exists and ``resume`` is False, or when ``resume``
    finds nothing to resume.
    ``progress(done, total)`` is called as schemas finish. Failures are in the report, not raised."""
    processes = processes or settings.TENANT_MIGRATE_PROCESSES
    lock = connections.create_connection("default")  # survives the close before forking
    try:
        with lock.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [RUN_LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise RunRefused("another migrate_tenants run is in progress")
            # No pool refill meanwhile: it would rebuild the template while it is migrated here.
            cursor.execute("SELECT pg_advisory_lock(%s)", [pool.REFILL_LOCK_KEY])
        return _run(processes, resume, progress, only)
    finally:
        lock.close()


def _run(processes: int, resume: bool, progress: Progress | None, only: set[str] | None) -> RunReport:
    unfinished = MigrationRun.objects.filter(finished_at__isnull=True).first()
    if unfinished and not resume:
        done = unfinished.schemas.count()
        raise RunRefused(
            f"run {unfinished.pk} started at {unfinished.started_at:%Y-%m-%d %H:%M:%S} did not finish "
            f"({done} schemas done); continue it with --resume"
        )
    if resume and not unfinished:
        raise RunRefused("there is no unfinished run to resume")

    state, loader = target_state()
    report = RunReport(run_id=None, schemas_checked=0)
    report.public_migrated = _migrate_public(state)
    tenants = dict(
        Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", "pk")
    )
    spares = set(SpareSchema.objects.values_list("schema_name", flat=True))
    schemas = sorted({*tenants, *spares, pool.TEMPLATE_SCHEMA})
    if only is not None:
        schemas = [schema for schema in schemas if schema in only]
    states = schema_states(schemas, connections=processes)
    report.schemas_checked = len(states)
    if resume:
        # Its holds: a crash left them set until they lapse.
        Tenant.objects.filter(held_until__isnull=False).update(held_until=None)
    behind: dict[str, list[str]] = {}
    for schema, schema_state in states.items():
        if schema_state != state:
            behind.setdefault(schema_state, []).append(schema)
    jobs_by_group = []
    for members in behind.values():
        plan = plan_for(loader, applied_in(members[0]))
        if plan:
            jobs_by_group.append(
                (
                    is_compilable(loader, plan),
                    [Job(s, plan, s in tenants, s in spares, state) for s in sorted(members)],
                )
            )
    total = sum(len(jobs) for _, jobs in jobs_by_group)
    run = unfinished or (MigrationRun.objects.create(migration_state=state) if total else None)
    report.run_id = run.pk if run else None
    if run is None:
        return report  # nothing to do: no run recorded
    done = 0
    if progress:
        progress(0, total)

    def record(result: SchemaResult) -> None:
        nonlocal done
        MigrationRunSchema.objects.create(
            run=run,
            schema_name=result.schema,
            outcome=result.outcome,
            applied=result.applied,
            seconds=result.seconds,
            error=result.error[:2000],
        )
        done += 1
        if progress:
            progress(done, total)

    rest: list[Job] = []
    for compilable, jobs in jobs_by_group:
        if compilable:
            jobs = _compile(jobs, record)
        rest.extend(jobs)
    _run_jobs(rest, processes, record)

    template_migrated = any(job.schema == pool.TEMPLATE_SCHEMA for _, jobs in jobs_by_group for job in jobs)
    if template_migrated:
        report.template_image_rebuilt = _refresh_template_image(state)
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    report.results = _results_of(run, set(tenants))
    return report


def _compile(jobs: list[Job], record: Callable[[SchemaResult], None]) -> list[Job]:
    """Migrate the group's pilot here, recording its SQL; return the other jobs, carrying that SQL
    when it is fit for replay (the pilot succeeded and no statement names its schema)."""
    pilot, rest = jobs[0], jobs[1:]
    capture: list = []
    result = migrate_schema(pilot, capture)
    record(result)
    named = re.compile(rf"\b{re.escape(pilot.schema)}\b")
    if result.outcome == MigrationRunSchema.Outcome.OK and not any(named.search(sql) for sql, _ in capture):
        for job in rest:
            job.statements = capture
    return rest


def _run_jobs(jobs: list[Job], processes: int, record: Callable[[SchemaResult], None]) -> None:
    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            record(migrate_schema(job))
        return
    # Forked workers inherit the registry and settings; a connection must not be shared across a
    # fork, so the parent's are closed first (each side reconnects on its next query).
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=context) as executor:
        futures = [executor.submit(migrate_schema, job) for job in jobs]
        for future in as_completed(futures):
            record(future.result())


def _results_of(run: MigrationRun, tenants: set[str]) -> list[SchemaResult]:
    """The whole run's summary, a resumed run's earlier schemas included; a schema done twice (it
    failed, then a resume retried it) shows its last result. Tenants were held while migrated."""
    latest: dict[str, MigrationRunSchema] = {}
    for row in run.schemas.order_by("pk"):
        latest[row.schema_name] = row
    return [
        SchemaResult(
            row.schema_name, row.outcome, row.applied, row.seconds, row.schema_name in tenants, row.error
        )
        for row in sorted(latest.values(), key=lambda row: row.schema_name)
    ]


def _migrate_public(state: str) -> bool:
    """The public schema comes first (tenant schemas may point at its tables): migrated with
    django-tenants' standard path when its hash is not the code's."""
    public = get_public_schema_name()
    if schema_states([public]).get(public) == state:
        return False
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, executor="standard", interactive=False, verbosity=0)
    connection.set_schema_to_public()
    return True


def _refresh_template_image(state: str) -> bool:
    """A new image of the migrated template (tenants.pool), so provisioning copies it again."""
    if SchemaImage.objects.filter(migration_state=state).exists():
        return False
    if pool.schema_migration_state(pool.TEMPLATE_SCHEMA) != state:
        return False  # its migration failed: the next refill rebuilds it
    sql = pool.dump_schema(pool.TEMPLATE_SCHEMA)
    with transaction.atomic():
        SchemaImage.objects.exclude(migration_state=state).delete()
        SchemaImage.objects.create(migration_state=state, sql=sql)
    return True
