"""The operator API's exports: start, list, read, download; operators only, one tenant's ids only."""

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from tenants import exports
from tenants.models import TenantExport
from tests.clients import api_client_for, issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_archives_left():
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "exports", ignore_errors=True)


def ready_export(tenant) -> TenantExport:
    export = exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)
    return exports.build_export(export.pk)


def base(tenant) -> str:
    return f"/api/v1/tenants/{tenant.public_id}"


def test_an_operator_starts_an_export_and_gets_its_id_status_and_progress(operator_api, operator, tenant):
    response = operator_api.post(f"{base(tenant)}/export/")

    assert response.status_code == 202
    body = response.json()
    export = TenantExport.objects.get(public_id=body["id"])
    assert export.tenant == tenant and export.requested_by == operator.email
    assert export.requested_via == TenantExport.Via.OPERATOR
    assert body["status"] == "pending" and body["progress"] == 0 and body["tenant"] == "acme"
    assert body["download_url"] is None


def test_a_second_export_under_way_is_refused_with_the_reason(operator_api, tenant):
    assert operator_api.post(f"{base(tenant)}/export/").status_code == 202

    response = operator_api.post(f"{base(tenant)}/export/")

    assert response.status_code == 400
    assert "already under way" in response.json()["non_field_errors"][0]
    assert TenantExport.objects.filter(tenant=tenant).count() == 1


def test_an_operator_lists_and_reads_a_tenants_exports(
    operator_api, tenant, other_tenant, django_assert_max_num_queries
):
    export = ready_export(tenant)
    ready_export(other_tenant)

    with django_assert_max_num_queries(8):
        listed = operator_api.get(f"{base(tenant)}/exports/").json()
    assert [row["id"] for row in listed["results"]] == [str(export.public_id)]
    detail = operator_api.get(f"{base(tenant)}/exports/{export.public_id}/").json()
    assert detail["status"] == "ready" and detail["progress"] == 100
    assert detail["size_bytes"] == export.size_bytes
    assert detail["download_url"] == f"{base(tenant)}/exports/{export.public_id}/download/"
    assert "file" not in detail


def test_an_operator_downloads_a_ready_archive(operator_api, tenant):
    export = ready_export(tenant)

    response = operator_api.get(f"{base(tenant)}/exports/{export.public_id}/download/")

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="acme-export-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert json.loads(archive.read("manifest.json"))["tenant"]["slug"] == "acme"


def test_an_export_not_ready_has_nothing_to_download(operator_api, tenant):
    export = exports.request_export(tenant, "ops@platform.test", TenantExport.Via.OPERATOR)

    response = operator_api.get(f"{base(tenant)}/exports/{export.public_id}/download/")

    assert response.status_code == 404 and "not ready" in response.json()["detail"]


def test_an_export_of_another_tenant_is_not_found_under_this_one(operator_api, tenant, other_tenant):
    theirs = ready_export(other_tenant)

    for path in (f"exports/{theirs.public_id}/", f"exports/{theirs.public_id}/download/"):
        assert operator_api.get(f"{base(tenant)}/{path}").status_code == 404
    assert operator_api.get(f"{base(other_tenant)}/exports/{theirs.public_id}/").status_code == 200


@pytest.mark.parametrize("persona", ["owner", "member"])
def test_a_tenants_token_opens_no_export_on_the_root_domain(persona, request, tenant):
    export = ready_export(tenant)
    token = issue_token(tenant, request.getfixturevalue(persona))
    client = api_client_for(settings.BASE_DOMAIN, token)

    assert client.post(f"{base(tenant)}/export/").status_code == 401
    assert client.get(f"{base(tenant)}/exports/{export.public_id}/download/").status_code == 401
    assert TenantExport.objects.filter(tenant=tenant).count() == 1


def test_a_non_operator_account_of_the_public_schema_is_refused(tenant, make_user):
    export = ready_export(tenant)
    customer = make_user("customer@platform.test", None)
    client = api_client_for(settings.BASE_DOMAIN, issue_token(None, customer))

    assert client.get(f"{base(tenant)}/exports/").status_code == 403
    assert client.get(f"{base(tenant)}/exports/{export.public_id}/download/").status_code == 403
