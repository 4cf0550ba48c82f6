from tests.tenants.migrating_app.initial import Migration  # noqa: F401
