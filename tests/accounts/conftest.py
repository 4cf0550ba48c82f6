"""The accounts tests use the suite's personas and clients (tests/conftest.py). ``issue_token`` and
``api_client_for`` live in tests/clients.py; they are importable from here too."""

from tests.clients import api_client_for, issue_token

__all__ = ["api_client_for", "issue_token"]
