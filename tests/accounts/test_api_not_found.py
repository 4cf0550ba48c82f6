"""An unknown URL under /api/ answers in the API's error format on both hosts (config/api/errors.py);
any other unknown URL keeps Django's 404 page."""

import pytest
from django.conf import settings

from tests.clients import host_client

pytestmark = pytest.mark.django_db

HOSTS = ["tenant", "root"]


def client_on(where, request):
    if where == "root":
        return host_client(settings.BASE_DOMAIN)
    return host_client(request.getfixturevalue("tenant").primary_host)


@pytest.mark.parametrize("where", HOSTS)
@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing/", "/api/v2/", "/api/", "/api", "/api/v1/tenants/x/y/z/"]
)
def test_an_unknown_api_url_answers_json_in_the_api_error_format(request, where, path):
    response = client_on(where, request).get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("where", HOSTS)
def test_an_unknown_api_url_is_json_whatever_the_method(request, where):
    response = client_on(where, request).post(
        "/api/v1/no-such-thing/", {"a": 1}, content_type="application/json"
    )
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("where", HOSTS)
@pytest.mark.parametrize("path", ["/no-such-page/", "/apis/", "/accounts/nothing-here/"])
def test_other_unknown_urls_keep_the_html_page(request, where, path):
    response = client_on(where, request).get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_missing_api_url_without_its_slash_is_still_redirected_to_it(tenant):
    # APPEND_SLASH runs on the 404: the handler must not hide a URL that exists with a slash.
    response = host_client(tenant.primary_host).get("/api/v1/me")
    assert response.status_code == 301 and response["Location"] == "/api/v1/me/"
