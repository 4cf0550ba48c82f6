"""What a tenant schema must respect to become a Citus distributed schema (schema-based sharding).

The road past one machine (README "Growing past one machine") is Citus 12+ schema-based sharding:
``citus_schema_distribute(schema)`` (or ``citus.enable_schema_based_sharding`` before the schema is
created) turns each tenant schema into a distributed schema, whose tables become single-shard
tables co-located on one worker; a query that stays in one tenant's schema runs there whole. Citus
refuses a schema, or a later CREATE/ALTER in it, that breaks one of these rules (Citus's
``EnsureTenantTable`` and friends, src/backend/distributed/commands/schema_based_sharding.c):

1. ``fk_out``: a foreign key from a tenant table points into the same schema, or to a *reference
   table* (a table copied to every node) in a regular schema. Which public tables would have to
   become reference tables is ``REFERENCE_TABLES`` below (none today: our tenant tables reference
   no public table).
2. ``fk_in``: no foreign key from any other schema (public included) into a tenant schema.
3. ``foreign_table``: no foreign tables in a tenant schema.
4. ``inheritance``: tenant tables neither inherit nor are inherited (declarative partitions are
   allowed, see 5).
5. ``partition_across_schemas``: a partition and its parent are in the same schema.
6. ``extension``: no table owned by an extension; the schema is neither owned by an extension nor
   an extension's schema.
7. ``owner``: ``citus_schema_distribute`` must be run by the owner of every table: a tenant
   schema's tables have the schema's owner.
8. ``trigger``: user triggers are refused on distributed and reference tables (unless the
   cluster sets ``citus.enable_unsafe_triggers``, which we do not plan on). Django's foreign keys
   use internal triggers, which are fine.
9. ``rule``: the rule system is not supported (views' own ``_RETURN`` rules are fine).
10. ``schema_name``: public, information_schema, pg_catalog, pg_toast and temporary schemas
    cannot be distributed: tenants live in schemas of their own (django-tenants does that).
11. ``reference_table``: a table in ``REFERENCE_TABLES`` may only reference other reference tables
    and carries no user trigger (triggers on reference tables are refused too).

Cautions, which Citus accepts with a limit (reported, not refused):

- ``int_identity``: an ``integer``/``smallint`` identity or serial column works, but its values can
  only be generated on the coordinator (Citus 12: "nextval(sequence) calls in worker nodes are not
  supported for column defaults of type int or smallint"). Our models use ``BigAutoField``; the
  apps we do not own (contenttypes, auth, admin, axes, django-otp) keep ``AutoField``, listed in
  ``KNOWN_INT_IDENTITY_TABLES``: fine while writes go through the coordinator, which they do.
- ``cross_schema_view``: a view that reads a table outside its schema (and not a reference table)
  stays on the coordinator; Citus keeps it local with a warning.

Not restricted by schema-based sharding, so not checked: unlogged tables, sequences (bigint
identity is what Citus recommends), functions in the schema, indexes of any kind.

``citus_violations(schema)`` reads pg_catalog only, so it runs against plain PostgreSQL in the
test suite (tests/tenants/test_citus_ddl.py) and fails on a migration that would block the move.
"""

from typing import NamedTuple

from django.db import connection

# Public tables that tenant tables may reference, because a Citus deployment turns them into
# reference tables (``SELECT create_reference_table('public.<name>')``) before distributing the
# tenant schemas. Empty: no tenant table references a public one. Adding a name here is a
# decision with a cost: every write to a reference table goes to every node.
REFERENCE_TABLES: frozenset[str] = frozenset()

# Tables of apps we do not own whose id is an ``integer`` identity (a caution, see above).
KNOWN_INT_IDENTITY_TABLES = frozenset(
    {
        "django_content_type",
        "auth_permission",
        "auth_group",
        "django_admin_log",
        "axes_accessattempt",
        "axes_accessfailurelog",
        "axes_accesslog",
        "otp_static_staticdevice",
        "otp_static_statictoken",
        "otp_totp_totpdevice",
    }
)

_RESERVED_SCHEMAS = {"public", "information_schema"}


class Finding(NamedTuple):
    rule: str
    object: str  # the qualified name of what breaks the rule
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.object}: {self.detail}"


# Each query takes the schema name as %(schema)s and returns (object, detail) rows.
_VIOLATION_QUERIES = {
    "fk_out": """
        SELECT format('%%I.%%I', n.nspname, con.conname),
               format('%%s references %%s, outside the schema', con.conrelid::regclass,
                      con.confrelid::regclass),
               format('%%I.%%I', fn.nspname, f.relname)
        FROM pg_constraint con
        JOIN pg_class r ON r.oid = con.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
        WHERE con.contype = 'f' AND n.nspname = %(schema)s AND fn.nspname <> %(schema)s
    """,
    "fk_in": """
        SELECT format('%%I.%%I', n.nspname, con.conname),
               format('%%s (another schema) references %%s', con.conrelid::regclass,
                      con.confrelid::regclass)
        FROM pg_constraint con
        JOIN pg_class r ON r.oid = con.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
        WHERE con.contype = 'f' AND fn.nspname = %(schema)s AND n.nspname <> %(schema)s
    """,
    "foreign_table": """
        SELECT format('%%I.%%I', n.nspname, c.relname), 'a foreign table'
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'f' AND n.nspname = %(schema)s
    """,
    "inheritance": """
        SELECT format('%%s', i.inhrelid::regclass), format('inherits from %%s', i.inhparent::regclass)
        FROM pg_inherits i
        JOIN pg_class child ON child.oid = i.inhrelid JOIN pg_class parent ON parent.oid = i.inhparent
        WHERE NOT child.relispartition
          AND child.relkind IN ('r', 'p', 'f') AND parent.relkind IN ('r', 'p', 'f')
          AND (child.relnamespace = to_regnamespace(%(schema)s)
               OR parent.relnamespace = to_regnamespace(%(schema)s))
    """,
    "partition_across_schemas": """
        SELECT format('%%s', i.inhrelid::regclass), format('a partition of %%s', i.inhparent::regclass)
        FROM pg_inherits i
        JOIN pg_class child ON child.oid = i.inhrelid JOIN pg_class parent ON parent.oid = i.inhparent
        WHERE child.relispartition AND child.relnamespace <> parent.relnamespace
          AND (child.relnamespace = to_regnamespace(%(schema)s)
               OR parent.relnamespace = to_regnamespace(%(schema)s))
    """,
    "extension": """
        SELECT format('%%I.%%I', n.nspname, c.relname), format('owned by extension %%s', e.extname)
        FROM pg_depend d
        JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND e.oid = d.refobjid
        WHERE d.deptype = 'e' AND n.nspname = %(schema)s
        UNION ALL
        SELECT format('%%I', n.nspname), format('the schema of extension %%s', e.extname)
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE n.nspname = %(schema)s
        UNION ALL
        SELECT format('%%I', n.nspname), format('owned by extension %%s', e.extname)
        FROM pg_depend d
        JOIN pg_namespace n ON d.classid = 'pg_namespace'::regclass AND n.oid = d.objid
        JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND e.oid = d.refobjid
        WHERE d.deptype = 'e' AND n.nspname = %(schema)s
    """,
    "owner": """
        SELECT format('%%I.%%I', n.nspname, c.relname),
               format('owned by %%s, the schema by %%s', pg_get_userbyid(c.relowner),
                      pg_get_userbyid(n.nspowner))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relowner <> n.nspowner AND n.nspname = %(schema)s
    """,
    "trigger": """
        SELECT format('%%I.%%I', n.nspname, t.tgname), format('a trigger on %%s', t.tgrelid::regclass)
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = %(schema)s
    """,
    "rule": """
        SELECT format('%%I.%%I', n.nspname, r.rulename), format('a rule on %%s', r.ev_class::regclass)
        FROM pg_rewrite r
        JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE r.rulename <> '_RETURN' AND n.nspname = %(schema)s
    """,
}

_CAUTION_QUERIES = {
    "int_identity": """
        SELECT format('%%I.%%I.%%I', n.nspname, c.relname, a.attname),
               format('%%s identity: values generated on the coordinator only',
                      format_type(a.atttypid, a.atttypmod)),
               c.relname
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
          AND a.atttypid IN ('int2'::regtype, 'int4'::regtype)
          AND (a.attidentity <> '' OR pg_get_serial_sequence(
                   format('%%I.%%I', n.nspname, c.relname), a.attname) IS NOT NULL)
          AND n.nspname = %(schema)s
    """,
    "cross_schema_view": """
        SELECT DISTINCT format('%%I.%%I', n.nspname, v.relname),
               format('reads %%s, outside the schema', t.oid::regclass),
               format('%%I.%%I', tn.nspname, t.relname)
        FROM pg_class v
        JOIN pg_namespace n ON n.oid = v.relnamespace
        JOIN pg_rewrite r ON r.ev_class = v.oid
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                        AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
        WHERE v.relkind IN ('v', 'm') AND n.nspname = %(schema)s AND tn.nspname <> %(schema)s
          AND tn.nspname NOT IN ('pg_catalog', 'information_schema')
    """,
}


# A reference table's foreign keys and user triggers, by its qualified name as %(schema)s.
_REFERENCE_FKS = """
    SELECT con.conname, format('%%I.%%I', fn.nspname, f.relname)
    FROM pg_constraint con
    JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
    WHERE con.contype = 'f' AND con.conrelid = to_regclass(%(schema)s)
"""
_REFERENCE_TRIGGERS = """
    SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass(%(schema)s)
"""


def _rows(sql: str, schema: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"schema": schema})
        return cursor.fetchall()


def citus_violations(schema: str, reference_tables=REFERENCE_TABLES) -> list[Finding]:
    """What Citus would refuse when ``schema`` becomes a distributed schema; empty when nothing.

    ``reference_tables`` are the "schema.table" names a deployment makes reference tables."""
    findings = []
    if schema in _RESERVED_SCHEMAS or schema.startswith("pg_"):
        findings.append(Finding("schema_name", schema, "this schema cannot be distributed"))
    for rule, sql in _VIOLATION_QUERIES.items():
        for row in _rows(sql, schema):
            if rule == "fk_out" and row[2] in reference_tables:
                continue  # to a reference table: allowed
            findings.append(Finding(rule, row[0], row[1]))
    findings.extend(reference_table_violations(reference_tables))
    return findings


def reference_table_violations(reference_tables=REFERENCE_TABLES) -> list[Finding]:
    """A reference table may only reference reference tables, and carries no user trigger."""
    findings = []
    for name in sorted(reference_tables):
        for constraint, target in _rows(_REFERENCE_FKS, name):
            if target not in reference_tables:
                findings.append(
                    Finding(
                        "reference_table",
                        f"{name}.{constraint}",
                        f"references {target}, not a reference table",
                    )
                )
        findings.extend(
            Finding("reference_table", f"{name}.{trigger}", "a trigger on a reference table")
            for (trigger,) in _rows(_REFERENCE_TRIGGERS, name)
        )
    return findings


def citus_cautions(schema: str, reference_tables=REFERENCE_TABLES) -> list[Finding]:
    """What Citus accepts with a limit (see the module's docstring)."""
    findings = []
    for rule, sql in _CAUTION_QUERIES.items():
        for row in _rows(sql, schema):
            if rule == "cross_schema_view" and row[2] in reference_tables:
                continue
            findings.append(Finding(rule, row[0], row[1]))
    return findings
