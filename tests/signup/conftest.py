import pytest
from django.conf import settings

from tests.conftest import host_client

PASSWORD = "correct-horse-battery-42"


def signup_data(**overrides):
    return {
        "company_name": "Initech",
        "slug": "initech",
        "owner_name": "Peter Gibbons",
        "email": "peter@initech.test",
        "password": PASSWORD,
        **overrides,
    }


@pytest.fixture
def visitor():
    """A browser on the root domain, where signup lives."""
    return host_client(settings.BASE_DOMAIN)
