"""Exports through the admins: the tenant's owner at /admin/export/ on their workspace, operators in
the global admin (the "Export data" action and the read-only list with its download link)."""

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from tenants import exports
from tenants.models import TenantExport

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_archives_left():
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "exports", ignore_errors=True)


def ready_export(tenant, email="ops@platform.test", via=TenantExport.Via.OPERATOR) -> TenantExport:
    export = exports.request_export(tenant, email, via)
    return exports.build_export(export.pk)


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- The tenant's owner ---------------------------------------------------------------------------


def test_the_owner_starts_an_export_of_their_workspace(web, owner, tenant):
    browser = web(owner)

    response = browser.post("/admin/export/", follow=True)

    assert response.status_code == 200
    export = TenantExport.objects.get(tenant=tenant)
    assert export.requested_by == owner.email and export.requested_via == TenantExport.Via.OWNER
    page = response.content.decode()
    assert "The export has started" in page and "Pending" in page
    assert '<meta http-equiv="refresh"' in page  # follows the progress while it runs


def test_the_owner_is_told_why_a_second_export_is_refused(web, owner, tenant):
    browser = web(owner)
    browser.post("/admin/export/")

    page = browser.post("/admin/export/", follow=True).content.decode()

    assert "already under way" in page
    assert TenantExport.objects.filter(tenant=tenant).count() == 1


def test_the_owner_downloads_their_workspaces_archive(web, owner, tenant):
    export = ready_export(tenant, owner.email, TenantExport.Via.OWNER)
    browser = web(owner)

    page = browser.get("/admin/export/").content.decode()
    assert f"/admin/export/{export.public_id}/download/" in page and "Ready" in page
    response = browser.get(f"/admin/export/{export.public_id}/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="acme-export-')
    assert "manifest.json" in unzip(response).namelist()


def test_the_owner_sees_an_operators_export_of_their_workspace_too(web, owner, tenant):
    ready_export(tenant)
    page = web(owner).get("/admin/export/").content.decode()
    assert "ops@platform.test (platform operator)" in page


def test_another_tenants_export_is_not_found_on_this_workspace(web, owner, tenant, other_tenant):
    theirs = ready_export(other_tenant)
    browser = web(owner)

    assert browser.get(f"/admin/export/{theirs.public_id}/download/").status_code == 404
    assert str(theirs.public_id) not in browser.get("/admin/export/").content.decode()


def test_an_admin_may_neither_export_nor_download(web, admin, tenant):
    export = ready_export(tenant)
    browser = web(admin)

    assert browser.get("/admin/export/").status_code == 403
    assert browser.post("/admin/export/").status_code == 403
    assert browser.get(f"/admin/export/{export.public_id}/download/").status_code == 403
    assert TenantExport.objects.filter(tenant=tenant).count() == 1


@pytest.mark.parametrize("persona", ["member", "nobody", "outsider"])
def test_a_member_or_anyone_else_is_sent_to_the_admins_sign_in(persona, request, web, tenant):
    export = ready_export(tenant)
    browser = web(request.getfixturevalue(persona))

    for response in (
        browser.get("/admin/export/"),
        browser.post("/admin/export/"),
        browser.get(f"/admin/export/{export.public_id}/download/"),
    ):
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert TenantExport.objects.filter(tenant=tenant).count() == 1


def test_another_tenants_owner_gets_nothing_here(web, stranger, tenant, other_tenant):
    export = ready_export(tenant)
    # Their session, made on globex, sent to acme's host: not a session here.
    browser = web(stranger, other_tenant)
    browser.defaults["HTTP_HOST"] = tenant.primary_host

    response = browser.get(f"/admin/export/{export.public_id}/download/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- Operators, in the global admin -----------------------------------------------------------------


@pytest.fixture
def operator_browser(operator, root_client):
    root_client.force_login(operator)
    return root_client


def test_an_operator_exports_tenants_from_the_tenant_list(operator_browser, operator, tenant, other_tenant):
    response = operator_browser.post(
        "/admin/tenants/tenant/",
        {"action": "export_selected", "_selected_action": [tenant.pk, other_tenant.pk]},
        follow=True,
    )

    assert response.status_code == 200 and "Started 2 export(s)" in response.content.decode()
    for each in (tenant, other_tenant):
        export = TenantExport.objects.get(tenant=each)
        assert export.requested_by == operator.email and export.requested_via == TenantExport.Via.OPERATOR


def test_an_operator_downloads_from_the_read_only_export_list(operator_browser, tenant):
    export = ready_export(tenant)

    listing = operator_browser.get("/admin/tenants/tenantexport/").content.decode()
    detail = operator_browser.get(f"/admin/tenants/tenantexport/{export.pk}/change/").content.decode()
    link = f"/admin/tenants/tenantexport/{export.pk}/download/"
    assert link in listing and link in detail and 'name="_save"' not in detail
    response = operator_browser.get(link)

    assert response.status_code == 200 and "manifest.json" in unzip(response).namelist()
    assert operator_browser.get("/admin/tenants/tenantexport/add/").status_code == 403


def test_the_operators_ready_email_links_to_the_global_admin(operator, tenant, settings):
    export = ready_export(tenant)
    assert exports.operator_download_url(export) == (
        f"http://localhost:8000/admin/tenants/tenantexport/{export.pk}/change/"
    )


def test_a_tenants_account_cannot_download_from_the_global_admin(web, owner, tenant):
    export = ready_export(tenant)
    intruder = web(owner)
    intruder.defaults["HTTP_HOST"] = settings.BASE_DOMAIN

    response = intruder.get(f"/admin/tenants/tenantexport/{export.pk}/download/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
