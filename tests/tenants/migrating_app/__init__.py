"""A tenant app for tests/tenants/test_migrate_tenants.py: one small table in every tenant schema,
and next migrations a test switches in through MIGRATION_MODULES (``migrations_<variant>``)."""
