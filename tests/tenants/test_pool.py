"""Provisioning from a ready spare or the template image: the same schema as migrations make,
all or nothing at every step of every path, and never one spare for two tenants."""

import threading
import time
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django_tenants.utils import schema_exists

from tenants import pool, services
from tenants.models import Domain, SchemaImage, SpareSchema, Tenant
from tests.worker import publishing_to

pytestmark = pytest.mark.django_db

DATA_MIGRATION_ROWS = {
    # The rows migrations write in every tenant schema, compared row by row across paths.
    "django_migrations": "app, name",
    "django_content_type": "id, app_label, model",
    "auth_permission": "id, content_type_id, codename, name",
    "auth_group": "id, name",
    "auth_group_permissions": "id, group_id, permission_id",
}


def catalog(schema: str) -> dict:
    """Everything that makes a schema what it is, with its own name taken out."""

    def rows(sql, *params):
        with connection.cursor() as cursor:
            cursor.execute(sql, [schema, *params])
            found = cursor.fetchall()
        return sorted(tuple(str(value).replace(f"{schema}.", "<s>.") for value in row) for row in found)

    found = {
        # Columns in their order. Not their attnum: a column a migration dropped leaves a gap in the
        # numbers of a migrated table (axes_accessattempt), which a copy does not carry.
        "columns": rows("""SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,
                                  column_default, is_identity, identity_generation,
                                  row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position)
                           FROM information_schema.columns WHERE table_schema = %s"""),
        "constraints": rows("""SELECT c.conrelid::regclass::text, c.conname, c.contype,
                                      pg_get_constraintdef(c.oid), c.condeferrable, c.condeferred
                               FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                               WHERE n.nspname = %s"""),
        "indexes": rows("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s"),
        "sequences": rows("""SELECT s.relname, t.relname, a.attname, d.deptype
                             FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
                             JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                             JOIN pg_class t ON t.oid = d.refobjid
                             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                             WHERE s.relkind = 'S' AND n.nspname = %s"""),
        "sequence_values": rows("""SELECT sequencename, last_value, start_value, increment_by, cache_size
                                   FROM pg_sequences WHERE schemaname = %s"""),
        "relations": rows("""SELECT c.relname, c.relkind, c.relpersistence FROM pg_class c
                             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"""),
    }
    quote = connection.ops.quote_name
    for table, columns in DATA_MIGRATION_ROWS.items():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {quote(schema)}.{quote(table)}")
            found[table] = sorted(cursor.fetchall())
    return found


@pytest.fixture(scope="session")
def image_sql(django_db_setup, django_db_blocker):
    """The template image, built once for the session by the real code (template migrated and
    dumped), then removed from the database: each test that wants it puts the row back."""
    with django_db_blocker.unblock():
        image, _ = pool.ensure_template_image()
        SchemaImage.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {pool.TEMPLATE_SCHEMA} CASCADE")
    return image.sql


@pytest.fixture
def image(image_sql, db):
    return SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)


def provision(slug):
    return services.provision_tenant(slug, slug.title(), f"owner@{slug}.test").tenant


def assert_nothing_left_of(slug):
    assert not schema_exists(slug)
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain__startswith=f"{slug}.").exists()


# --- Which path serves ------------------------------------------------------------------------------


def test_a_tenant_from_a_spare_or_the_template_is_the_same_schema_as_a_migrated_one(image_sql):
    migrated = provision("migrated")  # no image, no spare yet
    SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)
    pool.refill_pool(1)
    pooled, copied = provision("pooled"), provision("copied")
    paths = (migrated.schema_path, pooled.schema_path, copied.schema_path)
    assert paths == ("migrations", "pool", "template")

    expected = catalog("migrated")
    assert expected["auth_group"] and expected["auth_group_permissions"]  # the role groups are compared
    for schema in ("pooled", "copied"):
        found = catalog(schema)
        assert found.keys() == expected.keys()
        for part in expected:
            assert found[part] == expected[part], f"{schema}: {part} differs from a migrated schema"


def test_provisioning_takes_a_ready_spare_and_renames_it(image):
    pool.refill_pool(2)
    first = SpareSchema.objects.order_by("pk").first()
    tenant = provision("initech")
    assert tenant.schema_path == "pool" and schema_exists("initech")
    assert not schema_exists(first.schema_name) and not SpareSchema.objects.filter(pk=first.pk).exists()
    assert SpareSchema.objects.count() == 1


def test_with_the_pool_empty_provisioning_copies_the_template(image):
    assert provision("initech").schema_path == "template"


def test_without_an_image_of_the_current_migrations_provisioning_migrates(image_sql):
    SchemaImage.objects.create(migration_state="0" * 64, sql=image_sql)
    assert provision("initech").schema_path == "migrations"


def test_a_spare_made_before_a_new_migration_is_never_handed_out_and_the_refill_drops_it(image):
    pool.refill_pool(1)
    spare = SpareSchema.objects.get()
    # The spare as it would be had it been made before the newest migration existed.
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {spare.schema_name}.django_migrations WHERE app = 'tenants' "
            "AND name = '0002_spare_schemas'"
        )
    spare.migration_state = pool.schema_migration_state(spare.schema_name)
    spare.save(update_fields=["migration_state"])

    assert provision("initech").schema_path == "template"
    assert schema_exists(spare.schema_name)
    report = pool.refill_pool(1)
    assert (report.dropped, report.made, report.ready) == (1, 1, 1)
    assert not schema_exists(spare.schema_name)


@pytest.mark.django_db(transaction=True)
def test_an_image_of_other_migrations_is_rebuilt_by_the_refill(image_sql):
    SchemaImage.objects.create(migration_state="0" * 64, sql=image_sql)
    report = pool.refill_pool(0)
    assert report.template_rebuilt
    states = list(SchemaImage.objects.values_list("migration_state", flat=True))
    assert states == [pool.current_migration_state()]
    assert pool.schema_migration_state(pool.TEMPLATE_SCHEMA) == pool.current_migration_state()


# --- All or nothing, on every path ------------------------------------------------------------------


def fail_after(target, what):
    def wrapper(*args, **kwargs):
        target(*args, **kwargs)
        raise RuntimeError(f"injected failure after {what}")

    return wrapper


def owner_hook_that_fails(email, **kwargs):
    from tenant_apps.accounts.provisioning import create_first_owner

    create_first_owner(email, **kwargs)
    raise RuntimeError("injected failure at the owner step")


@pytest.mark.parametrize("path", ["pool", "template", "migrations"])
@pytest.mark.parametrize("step", ["tenant row", "schema", "domain", "owner"])
def test_a_failure_at_any_step_of_any_path_leaves_nothing_behind(
    path, step, image_sql, monkeypatch, settings
):
    if path != "migrations":
        SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)
    if path == "pool":
        pool.refill_pool(1)
    spares = list(SpareSchema.objects.values_list("schema_name", flat=True))
    served = []

    def create_schema(schema, migrate):
        # The tenant row is written by now; the schema step comes next.
        assert Tenant.objects.filter(schema_name=schema).exists()
        if step == "tenant row":
            raise RuntimeError("injected failure after the tenant row")
        served.append(real_create_schema(schema, migrate))
        assert schema_exists(schema)
        if step == "schema":
            raise RuntimeError("injected failure after the schema step")
        return served[-1]

    real_create_schema = pool.create_tenant_schema
    monkeypatch.setattr("tenants.services.pool.create_tenant_schema", create_schema)
    if step == "domain":
        monkeypatch.setattr(
            "tenants.services.Domain.objects.create", fail_after(Domain.objects.create, "the domain step")
        )
    elif step == "owner":
        settings.TENANT_FIRST_OWNER_HOOK = f"{__name__}.owner_hook_that_fails"

    with pytest.raises(RuntimeError, match="injected failure"):
        provision("doomed")

    assert served == ([] if step == "tenant row" else [path])
    assert_nothing_left_of("doomed")
    # A claimed spare went back to the pool, schema and row.
    assert list(SpareSchema.objects.values_list("schema_name", flat=True)) == spares
    assert all(schema_exists(name) for name in spares)


# --- Concurrency ----------------------------------------------------------------------------------


def run_at_once(count, work):
    """``work(i)`` in ``count`` threads released together; the results (or exceptions) by i."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["pool", "template"])
def test_twenty_concurrent_provisionings_of_one_slug_make_one_tenant_and_nineteen_refusals(path, image_sql):
    SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)
    if path == "pool":
        pool.refill_pool(3)

    results = run_at_once(20, lambda i: provision("rush"))

    tenants = [r for r in results if isinstance(r, Tenant)]
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(tenants) == 1 and tenants[0].schema_path == path
    assert len(refusals) == 19, [r for r in results if not isinstance(r, (Tenant, ValidationError))]
    assert all(r.message_dict == {"slug": ["The slug 'rush' is already taken."]} for r in refusals)
    assert Tenant.objects.filter(slug="rush").count() == 1 and schema_exists("rush")
    if path == "pool":
        assert SpareSchema.objects.count() == 2  # the refused ones took no spare


@pytest.mark.django_db(transaction=True)
def test_concurrent_provisionings_never_get_the_same_spare(image_sql):
    SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)
    pool.refill_pool(6)
    spares = set(SpareSchema.objects.values_list("schema_name", flat=True))

    results = run_at_once(6, lambda i: provision(f"rush{i}"))

    assert [getattr(r, "schema_path", r) for r in results] == ["pool"] * 6
    assert not SpareSchema.objects.exists()
    assert all(schema_exists(f"rush{i}") for i in range(6))
    assert not any(schema_exists(name) for name in spares)


# --- The operator's command -----------------------------------------------------------------------


def test_refill_tenant_pool_shows_its_progress_and_what_it_did(image):
    out = StringIO()
    call_command("refill_tenant_pool", "--size", "3", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split("] ")[1] for line in lines if line.startswith("[")] == [
        "0/3 spares",
        "1/3 spares",
        "2/3 spares",
        "3/3 spares",
    ]
    assert lines[-1] == "3 spare schemas ready (3 made, 0 stale dropped)"
    assert SpareSchema.objects.filter(migration_state=pool.current_migration_state()).count() == 3


def test_refill_tenant_pool_refuses_a_negative_size():
    with pytest.raises(CommandError, match="--size must be 0 or more"):
        call_command("refill_tenant_pool", "--size", "-1", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_second_refill_while_one_runs_is_refused_and_makes_nothing(image_sql):
    SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)
    holder = connection.copy()  # another session, holding the refill's lock as a running refill would
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [pool.REFILL_LOCK_KEY])
        with pytest.raises(CommandError, match="another refill is running"):
            call_command("refill_tenant_pool", "--size", "2", stdout=StringIO())
        assert not SpareSchema.objects.exists()
    finally:
        holder.close()


def test_beat_runs_the_refill_task():
    from django.conf import settings

    from config.celery import app
    from tenants import tasks

    assert tasks.refill_pool.name == "tenants.refill_pool"
    entry = settings.CELERY_BEAT_SCHEDULE["tenants-refill-pool"]
    assert entry["task"] == "tenants.refill_pool" and entry["task"] in app.tasks


@pytest.mark.django_db(transaction=True)
def test_the_refill_task_tops_the_pool_up_in_a_real_worker(image_sql, start_worker):
    SchemaImage.objects.create(migration_state=pool.current_migration_state(), sql=image_sql)
    worker = start_worker(TENANT_POOL_SIZE="2")
    from tenants.tasks import refill_pool

    with publishing_to(worker.queue):
        refill_pool.delay()
    deadline = time.monotonic() + 60
    while SpareSchema.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    spares = list(SpareSchema.objects.all())
    assert len(spares) == 2
    assert all(
        s.migration_state == pool.current_migration_state() and schema_exists(s.schema_name) for s in spares
    )
