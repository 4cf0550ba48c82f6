"""``manage.py migrate_tenants`` (tenants.migrating) on real schemas: the session's tenants, a few
more provisioned from the template image, spares and the template. The migrations come from a
test app (tests/tenants/migrating_app) whose next migration each test switches in through
MIGRATION_MODULES: an AddField, one that fails where a note says so, one that waits on a lock the
test holds (to see a tenant mid-migration)."""

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from tenants import migrating, pool
from tenants.models import MigrationRun, SchemaImage, SpareSchema, Tenant
from tenants.services import provision_tenant
from tests.clients import api_client_for, host_client
from tests.conftest import PASSWORD
from tests.worker import publishing_to, wait_until
from tests.worker_tasks import ping, read_report

pytestmark = pytest.mark.django_db(transaction=True)

APP = "migratingtest"
WAIT_LOCK_KEY = 0x7E4A_7E57  # tests/tenants/migrating_app/migrations_waiting/0002_note_extra.py
UPDATING_API = {"detail": "This workspace is being updated; try again shortly."}


@pytest.fixture(scope="session")
def image_sql(django_db_setup, django_db_blocker) -> str:
    """The template image of the migrations as shipped, built once: provisioning replays it."""
    with django_db_blocker.unblock():
        image, _rebuilt = pool.ensure_template_image()
        connection.set_schema_to_public()
        return image.sql


@pytest.fixture
def make_tenants(image_sql, tenant, other_tenant):
    """``make_tenants(n)``: n more tenants (miga, migb, ...), each from the template image, beside
    the session's acme and globex."""
    made = []

    def make(count: int) -> list[Tenant]:
        # A transactional test's flush empties the image table: put the image back.
        state = pool.current_migration_state()
        SchemaImage.objects.get_or_create(migration_state=state, defaults={"sql": image_sql})
        tenants = []
        for _ in range(count):
            slug = f"mig{chr(ord('a') + len(made))}"
            tenant = provision_tenant(
                slug, slug.title(), f"owner@{slug}.test", owner_password=PASSWORD
            ).tenant
            assert tenant.schema_path == "template"
            made.append(tenant)
            tenants.append(tenant)
        return tenants

    return make


@pytest.fixture
def use_migrations(settings):
    """``use_migrations(variant)``: the test app's migrations from ``migrations_<variant>``. Undone
    after the test: the column dropped and the rows deleted wherever a migration added them (the
    session's tenants and the public schema outlive the test)."""

    def use(variant: str) -> None:
        settings.MIGRATION_MODULES = {APP: f"tests.tenants.migrating_app.migrations_{variant}"}

    yield use
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.columns "
            "WHERE table_name = 'migratingtest_note' AND column_name = 'extra'"
        )
        for (schema,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE "{schema}".migratingtest_note DROP COLUMN extra')
        for schema in ("public", *migrating.schema_states(sorted(tenant_schemas()))):
            cursor.execute(
                f"DELETE FROM \"{schema}\".django_migrations WHERE app = %s AND name <> '0001_initial'", [APP]
            )
    pool.current_migration_state.cache_clear()


def tenant_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%'")
        return {name for (name,) in cursor.fetchall()} - {"public", "information_schema"}


def has_extra(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'migratingtest_note' AND column_name = 'extra'",
            [schema],
        )
        return cursor.fetchone() is not None


def recorded(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT name FROM "{schema}".django_migrations WHERE app = %s', [APP])
        return {name for (name,) in cursor.fetchall()}


def migrate(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("migrate_tenants", *args, stdout=out, stderr=err)
    finally:
        connection.set_schema_to_public()
    return out.getvalue(), err.getvalue()


def all_tenant_schemas() -> list[str]:
    return list(Tenant.objects.values_list("schema_name", flat=True))


# --- Nothing to do -------------------------------------------------------------------------------


def test_nothing_to_do_exits_at_once_with_the_same_few_queries_for_3_or_12_tenants(make_tenants):
    def run() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            out, _err = migrate("--no-input")
        return out, [q["sql"] for q in queries.captured_queries]

    def schemas() -> int:  # the tenants' (acme, globex and ours), the spares and the template
        return Tenant.objects.count() + SpareSchema.objects.count() + pool.template_exists()

    make_tenants(3)
    out_few, queries_few = run()
    few = schemas()
    make_tenants(9)
    out_many, queries_many = run()

    assert f"All {few} schemas are up to date." in out_few
    assert f"All {few + 9} schemas are up to date." in out_many
    assert len(queries_many) == len(queries_few) <= 8
    # No catalog scan: tables are found by name, never through pg_table_is_visible.
    assert not any("pg_table_is_visible" in sql for sql in queries_many)
    assert not MigrationRun.objects.exists()  # no work, no run recorded


def test_the_states_read_over_several_connections_are_the_states_read_over_one(make_tenants, monkeypatch):
    make_tenants(3)
    with connection.cursor() as cursor:  # one schema's record unlike the others', to tell them apart
        cursor.execute("INSERT INTO miga.django_migrations (app, name, applied) VALUES ('x', 'y', now())")
    schemas = sorted(Tenant.objects.values_list("schema_name", flat=True))
    monkeypatch.setattr(migrating, "STATE_CHUNK", 2)  # several statements, so several connections

    one = migrating.schema_states(schemas, connections=1)
    several = migrating.schema_states(schemas, connections=3)

    assert several == one
    assert set(one) == set(schemas) - {"public"}
    assert one["miga"] != one["migb"] == one["migc"]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM miga.django_migrations WHERE app = 'x'")


# --- One AddField ---------------------------------------------------------------------------------


def test_one_add_field_reaches_every_tenant_spare_and_the_template_in_parallel(
    make_tenants, image_sql, use_migrations
):
    made = make_tenants(3)
    spare = pool.make_spare(SchemaImage.objects.get())
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{pool.TEMPLATE_SCHEMA}" CASCADE')
    pool.replay_image(image_sql, pool.TEMPLATE_SCHEMA)
    with tenant_context(made[0]):
        connection.cursor().execute("INSERT INTO migratingtest_note (text) VALUES ('kept')")
    use_migrations("addfield")
    state, _loader = migrating.target_state()

    out, _err = migrate("--processes", "2")

    schemas = [*all_tenant_schemas(), spare.schema_name, pool.TEMPLATE_SCHEMA]
    assert len(schemas) == 7
    for schema in schemas:
        assert has_extra(schema), schema
        assert recorded(schema) == {"0001_initial", "0002_note_extra"}, schema
        assert f"{schema} " in out
    with tenant_context(made[0]):
        with connection.cursor() as cursor:
            cursor.execute("SELECT text, extra FROM migratingtest_note")
            assert cursor.fetchall() == [("kept", 7)]
    assert "7 schemas migrated, 0 failed" in out
    # The pool keeps serving: the spare says it is current, and the template has a new image.
    assert SpareSchema.objects.get(pk=spare.pk).migration_state == state
    assert SchemaImage.objects.filter(migration_state=state).exists()
    assert "Rebuilt the template image" in out
    assert not Tenant.objects.filter(held_until__isnull=False).exists()

    again, _err = migrate()
    assert "All 7 schemas are up to date." in again


# --- A failure ------------------------------------------------------------------------------------


def test_a_migration_failing_in_one_tenant_rolls_that_tenant_back_and_exits_non_zero_naming_it(
    make_tenants, use_migrations
):
    _miga, migb, _migc = make_tenants(3)
    with tenant_context(migb):
        connection.cursor().execute("INSERT INTO migratingtest_note (text) VALUES ('fail')")
    use_migrations("failing")

    with pytest.raises(CommandError) as failed:
        migrate()

    assert "1 failed" in str(failed.value) and str(failed.value).endswith(": migb")
    # migb is on the old version: no column, no record of the new migration.
    assert not has_extra("migb") and recorded("migb") == {"0001_initial"}
    for schema in ("acme", "globex", "miga", "migc"):
        assert has_extra(schema) and "0002_note_extra" in recorded(schema), schema
    assert not Tenant.objects.get(slug="migb").is_held
    # The run finished: the next one retries migb alone (and fails it again, still rolled back).
    with pytest.raises(CommandError, match=r"0 schemas migrated, 1 failed.*: migb$"):
        migrate()


# --- Resume ---------------------------------------------------------------------------------------


class Crash(BaseException):
    """What a killed process looks like to the run: it stops between two schemas, records nothing
    more, finishes nothing."""


def test_resume_continues_a_crashed_run_with_the_schemas_not_yet_done(make_tenants, use_migrations):
    make_tenants(3)
    use_migrations("addfield")
    # Every schema the run migrates, in its order: the template (when an earlier test left one)
    # sorts before the tenants.
    schemas = sorted(
        ["acme", "globex", "miga", "migb", "migc"] + ([pool.TEMPLATE_SCHEMA] * pool.template_exists())
    )

    def crash_after_two(done, total):
        if done == 2:
            raise Crash

    with pytest.raises(Crash):
        migrating.migrate_tenants(processes=1, progress=crash_after_two)
    connection.set_schema_to_public()
    assert [has_extra(s) for s in schemas] == [True, True] + [False] * (len(schemas) - 2)
    # A tenant the crash caught mid-migration stays held until the hold lapses or the run resumes.
    migrating.hold_tenant("migb")

    with pytest.raises(CommandError, match=r"did not finish \(2 schemas done\); continue it with --resume"):
        migrate()
    out, _err = migrate("--resume")

    assert all(has_extra(s) for s in schemas)
    # The whole run's summary, the schemas done before the crash included.
    assert f"{len(schemas)} schemas migrated, 0 failed" in out
    run = MigrationRun.objects.get()
    assert run.finished_at is not None
    assert sorted(run.schemas.values_list("schema_name", flat=True)) == schemas
    assert not Tenant.objects.get(slug="migb").is_held
    with pytest.raises(CommandError, match="no unfinished run to resume"):
        migrate("--resume")


# --- Held while migrating ---------------------------------------------------------------------------


@pytest.fixture
def migration_waiting_in_acme(use_migrations):
    """A run (in a thread) whose first schema, acme's, is mid-migration: waiting on a lock this
    test holds. ``release()`` lets it go and waits for the run's end; returns its output."""
    use_migrations("waiting")
    # acme first: no spare nor template (names with "_", sorting before it) left by earlier tests.
    pool.drop_spares()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{pool.TEMPLATE_SCHEMA}" CASCADE')
    locker = connections.create_connection("default")
    with locker.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [WAIT_LOCK_KEY])
    result = {}

    def run():
        try:
            result["out"] = migrate("--processes", "1")[0]
        except BaseException as exc:  # reported by release()
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()

    def waiting() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            return cursor.fetchone() is not None

    wait_until(waiting)

    def release() -> str:
        with locker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [WAIT_LOCK_KEY])
        thread.join(timeout=120)
        assert not thread.is_alive() and "error" not in result, result
        return result["out"]

    yield release
    if thread.is_alive():
        release()
    locker.close()


def test_a_tenant_answers_503_with_retry_after_while_its_schema_migrates_and_others_answer_200(
    tenant, other_tenant, migration_waiting_in_acme
):
    assert Tenant.objects.get(pk=tenant.pk).is_held

    page = host_client(tenant.primary_host).get("/accounts/sign-in/")
    assert page.status_code == 503 and b"being updated" in page.content
    assert 1 <= int(page["Retry-After"]) <= 5
    api = api_client_for(tenant.primary_host).get("/api/v1/me/")
    assert api.status_code == 503 and api.json() == UPDATING_API and api["Retry-After"]
    assert host_client(other_tenant.primary_host).get("/accounts/sign-in/").status_code == 200

    migration_waiting_in_acme()

    assert has_extra("acme") and has_extra("globex")
    assert host_client(tenant.primary_host).get("/accounts/sign-in/").status_code == 200


def test_a_held_tenants_task_is_deferred_and_runs_once_its_schema_is_migrated(
    tenant, other_tenant, start_worker, migration_waiting_in_acme
):
    worker = start_worker(TENANT_MIGRATE_RETRY_SECONDS="1")
    with publishing_to(worker.queue):
        with tenant_context(tenant):
            ping.delay("held-acme")
        with tenant_context(other_tenant):
            ping.delay("held-globex")

    # One task at a time in queue order: once globex's ran, acme's was tried first, and deferred.
    wait_until(lambda: read_report("held-globex") is not None)
    assert read_report("held-acme") is None

    migration_waiting_in_acme()

    wait_until(lambda: read_report("held-acme") is not None)
    assert read_report("held-acme")["schema"] == "acme"


# --- migrate_schemas ---------------------------------------------------------------------------------


def test_migrate_schemas_with_the_tenants_executor_runs_the_same_migration(make_tenants, use_migrations):
    make_tenants(1)
    use_migrations("addfield")

    call_command(
        "migrate_schemas",
        executor="tenants",
        schema_name="miga",
        interactive=False,
        verbosity=0,
        stdout=StringIO(),
    )
    connection.set_schema_to_public()
    assert [has_extra(s) for s in ("acme", "globex", "miga")] == [False, False, True]

    call_command("migrate_schemas", executor="tenants", interactive=False, verbosity=0, stdout=StringIO())
    connection.set_schema_to_public()

    assert all(has_extra(s) for s in ("acme", "globex", "miga"))
    first, second = MigrationRun.objects.order_by("pk")
    assert list(first.schemas.values_list("schema_name", flat=True)) == ["miga"]
    template = [pool.TEMPLATE_SCHEMA] if pool.template_exists() else []
    assert sorted(second.schemas.values_list("schema_name", flat=True)) == [*template, "acme", "globex"]
    with schema_context("public"):
        assert "0002_note_extra" in recorded("public")
