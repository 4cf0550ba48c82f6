import pytest
from django.conf import settings

from tests.accounts.conftest import api_client_for, issue_token


@pytest.fixture
def operator(make_user):
    return make_user("ops@platform.test", None, is_staff=True, is_superuser=True)


@pytest.fixture
def operator_api(operator):
    return api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))


@pytest.fixture
def root_api(db):
    return api_client_for(settings.BASE_DOMAIN)
