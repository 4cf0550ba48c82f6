"""Clients of the operator API, on the root domain. ``operator`` is the suite's persona."""

import pytest
from django.conf import settings

from tests.clients import api_client_for, issue_token


@pytest.fixture
def operator_api(operator):
    return api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))


@pytest.fixture
def root_api(db):
    return api_client_for(settings.BASE_DOMAIN)
