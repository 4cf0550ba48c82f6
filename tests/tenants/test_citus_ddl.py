"""Tenant schemas stay distributable by Citus schema-based sharding (tenants/citus_rules.py).

The checker reads pg_catalog, so it runs on the suite's plain PostgreSQL: a migration that adds a
foreign key to a public table, a trigger, or table inheritance fails here, naming the object,
long before a Citus cluster would refuse ``citus_schema_distribute``. Each rule has a negative
control: the DDL Citus refuses, in a scratch schema rolled back with the test.
"""

import pytest
from django.db import connection

from tenants import citus_rules
from tenants.citus_rules import citus_cautions, citus_violations
from tenants.services import provision_tenant

pytestmark = pytest.mark.django_db

SCRATCH = "citus_probe"


def listed(findings) -> str:
    return "\n".join(str(finding) for finding in findings) or "(none)"


def unexpected_cautions(schema: str) -> list:
    """Cautions other than the integer ids of the apps we do not own."""
    return [
        finding
        for finding in citus_cautions(schema)
        if not (
            finding.rule == "int_identity"
            and finding.object.split(".")[1] in citus_rules.KNOWN_INT_IDENTITY_TABLES
        )
    ]


def test_a_freshly_provisioned_tenant_schema_is_one_citus_would_distribute():
    tenant = provision_tenant("citus-fresh", "Citus Fresh", "owner@citus-fresh.test").tenant

    assert citus_violations(tenant.schema_name) == [], listed(citus_violations(tenant.schema_name))
    assert unexpected_cautions(tenant.schema_name) == [], listed(unexpected_cautions(tenant.schema_name))


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_the_session_tenants_schemas_are_ones_citus_would_distribute(tenant, other_tenant, slug):
    assert citus_violations(slug) == [], listed(citus_violations(slug))
    assert unexpected_cautions(slug) == [], listed(unexpected_cautions(slug))


def test_the_known_integer_ids_are_still_there_so_the_list_is_not_stale(tenant):
    tables = {
        finding.object.split(".")[1] for finding in citus_cautions("acme") if finding.rule == "int_identity"
    }
    assert tables == citus_rules.KNOWN_INT_IDENTITY_TABLES


def test_no_public_table_must_become_a_reference_table_today(tenant):
    assert citus_rules.REFERENCE_TABLES == frozenset()
    assert citus_rules.reference_table_violations() == []


# --- Negative controls: what Citus refuses is reported, naming the object -------------------------


def run(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@pytest.fixture
def scratch(db):
    """A schema like a tenant's, created in the test's transaction (and rolled back with it)."""
    run(f"CREATE SCHEMA {SCRATCH}", f"CREATE TABLE {SCRATCH}.item (id bigint PRIMARY KEY, parent_id bigint)")
    return SCRATCH


def findings_of(rule: str, schema: str = SCRATCH) -> list[str]:
    return [finding.object for finding in citus_violations(schema) if finding.rule == rule]


def test_a_clean_scratch_schema_has_no_finding(scratch):
    run(
        f"ALTER TABLE {scratch}.item ADD CONSTRAINT item_parent FOREIGN KEY (parent_id) "
        f"REFERENCES {scratch}.item"
    )
    assert citus_violations(scratch) == []


def test_a_foreign_key_to_a_public_table_is_reported_unless_it_is_a_reference_table(scratch):
    run(
        "CREATE TABLE public.citus_probe_plan (id bigint PRIMARY KEY)",
        f"ALTER TABLE {scratch}.item ADD CONSTRAINT item_plan FOREIGN KEY (parent_id) "
        "REFERENCES public.citus_probe_plan",
    )
    assert findings_of("fk_out") == [f"{scratch}.item_plan"]
    assert citus_violations(scratch, reference_tables={"public.citus_probe_plan"}) == []


def test_a_reference_table_that_references_a_plain_table_is_reported(scratch):
    run(
        "CREATE TABLE public.citus_probe_region (id bigint PRIMARY KEY)",
        "CREATE TABLE public.citus_probe_plan (id bigint PRIMARY KEY, region_id bigint "
        "CONSTRAINT plan_region REFERENCES public.citus_probe_region)",
    )
    findings = citus_rules.reference_table_violations({"public.citus_probe_plan"})
    assert [(f.rule, f.object) for f in findings] == [
        ("reference_table", "public.citus_probe_plan.plan_region")
    ]
    assert (
        citus_rules.reference_table_violations({"public.citus_probe_plan", "public.citus_probe_region"}) == []
    )


def test_a_foreign_key_from_public_into_a_tenant_schema_is_reported(scratch):
    run(
        "CREATE TABLE public.citus_probe_audit (id bigint PRIMARY KEY, item_id bigint "
        f"CONSTRAINT audit_item REFERENCES {scratch}.item)"
    )
    assert findings_of("fk_in") == ["public.audit_item"]


def test_inheritance_and_a_partition_in_another_schema_are_reported(scratch):
    run(
        f"CREATE TABLE {scratch}.special_item () INHERITS ({scratch}.item)",
        f"CREATE TABLE {scratch}.event (at date NOT NULL) PARTITION BY RANGE (at)",
        f"CREATE TABLE {scratch}.event_2026 PARTITION OF {scratch}.event "
        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        "CREATE TABLE public.citus_probe_event_2027 PARTITION OF citus_probe.event "
        "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
    )
    assert findings_of("inheritance") == [f"{scratch}.special_item"]
    # The partition in the same schema is fine; the one in public is not.
    assert findings_of("partition_across_schemas") == ["citus_probe_event_2027"]


def test_a_trigger_and_a_rule_are_reported(scratch):
    run(
        f"CREATE FUNCTION {scratch}.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
        f"CREATE TRIGGER item_touch BEFORE UPDATE ON {scratch}.item "
        f"FOR EACH ROW EXECUTE FUNCTION {scratch}.touch()",
        f"CREATE RULE item_no_delete AS ON DELETE TO {scratch}.item DO INSTEAD NOTHING",
    )
    assert findings_of("trigger") == [f"{scratch}.item_touch"]
    assert findings_of("rule") == [f"{scratch}.item_no_delete"]


def test_a_table_owned_by_another_role_is_reported(scratch):
    run(
        "DO $$ BEGIN CREATE ROLE citus_probe_owner NOLOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        f"ALTER TABLE {scratch}.item OWNER TO citus_probe_owner",
    )
    assert findings_of("owner") == [f"{scratch}.item"]


def test_reserved_schemas_cannot_be_distributed(db):
    assert [finding.rule for finding in citus_violations("public") if finding.rule == "schema_name"] == [
        "schema_name"
    ]


def test_an_integer_id_and_a_view_over_public_are_cautions(scratch):
    run(
        f"CREATE TABLE {scratch}.legacy (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)",
        "CREATE TABLE public.citus_probe_plan (id bigint PRIMARY KEY)",
        f"CREATE VIEW {scratch}.plans AS SELECT id FROM public.citus_probe_plan",
    )
    cautions = {(finding.rule, finding.object) for finding in citus_cautions(scratch)}
    assert cautions == {("int_identity", f"{scratch}.legacy.id"), ("cross_schema_view", f"{scratch}.plans")}
    assert citus_violations(scratch) == []
