"""Renaming a tenant's subdomain (tenants.lifecycle.rename_tenant): the old host redirects for
TENANT_RENAME_REDIRECT_DAYS, sessions keep working on the new host only, then the name is free.
Through the service, the operator API, the global admin and the CLI. The tenants are the tests' own."""

from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import schema_exists

from tenants import services
from tenants.models import Domain, HostRedirect, Tenant
from tests.clients import api_client_for, host_client, issue_token, signed_in_client
from tests.tenants.lifecycle_helpers import fill, make_tenant, owner_of, read_back

pytestmark = pytest.mark.django_db


def host(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def expire_redirects(tenant) -> None:
    HostRedirect.objects.filter(tenant=tenant).update(expires_at=timezone.now() - timedelta(seconds=1))


# --- The service -----------------------------------------------------------------------------


def test_a_rename_moves_the_slug_and_the_domain_and_keeps_the_schema_and_data():
    tenant = make_tenant("initech")
    before = fill(tenant)
    renamed = services.rename_tenant(tenant, "initrode")
    assert renamed.slug == "initrode" and renamed.schema_name == "initech"
    assert list(renamed.domains.values_list("domain", flat=True)) == [host("initrode")]
    redirect = HostRedirect.objects.get(hostname=host("initech"))
    expected = timezone.now() + timedelta(days=settings.TENANT_RENAME_REDIRECT_DAYS)
    assert redirect.tenant == renamed and abs(redirect.expires_at - expected) < timedelta(minutes=1)
    assert read_back(renamed, before) == before


def test_the_old_host_redirects_permanently_to_the_same_path_and_query_on_the_new_host():
    tenant = make_tenant("initech")
    assert host_client(host("initech")).get("/accounts/sign-in/").status_code == 200  # cached as served
    services.rename_tenant(tenant, "initrode")
    response = host_client(host("initech")).get("/projects/?page=2&q=tps")
    assert response.status_code == 301
    assert response["Location"] == f"http://{host('initrode')}/projects/?page=2&q=tps"
    api = api_client_for(f"{host('initech')}:8000").get("/api/v1/me/?x=1")
    assert api.status_code == 301 and api["Location"] == f"http://{host('initrode')}:8000/api/v1/me/?x=1"
    assert host_client(host("initrode")).get("/accounts/sign-in/").status_code == 200


def test_a_session_made_on_the_old_host_works_on_the_new_host_only():
    tenant = make_tenant("initech")
    browser = signed_in_client(tenant, owner_of(tenant))
    assert browser.get("/projects/").status_code == 200
    services.rename_tenant(tenant, "initrode")
    # The test client sends its cookies to every host: the same browser, on the new host.
    assert browser.get("/projects/", HTTP_HOST=host("initrode")).status_code == 200
    old = browser.get("/projects/")
    assert old.status_code in (301, 302) and urlsplit(old["Location"]).hostname == host("initrode")


def test_a_signed_in_browser_on_the_old_host_is_handed_off_to_the_new_host_signed_in():
    tenant = make_tenant("initech")
    owner = owner_of(tenant)
    browser = signed_in_client(tenant, owner)
    services.rename_tenant(tenant, "initrode")
    response = browser.get("/projects/?tab=mine")
    # 302, never 301: the one-time URL must not be cached by the browser.
    assert response.status_code == 302 and "no-store" in response["Cache-Control"]
    handoff = urlsplit(response["Location"])
    assert handoff.hostname == host("initrode") and handoff.path.startswith("/accounts/handoff/")
    # A browser with no cookie at all (what a real one has on the new host) follows it.
    fresh = host_client(host("initrode"))
    landed = fresh.get(handoff.path)
    assert landed.status_code == 302 and landed["Location"] == "/projects/?tab=mine"
    assert fresh.get("/api/v1/me/").json()["email"] == owner.email
    assert fresh.get(handoff.path).status_code == 404  # one use only


def test_a_signed_out_browser_on_the_old_host_gets_the_plain_redirect():
    tenant = make_tenant("initech")
    browser = host_client(host("initech"))
    browser.cookies[settings.SESSION_COOKIE_NAME] = "not-a-session"
    services.rename_tenant(tenant, "initrode")
    assert browser.get("/projects/").status_code == 301


def test_a_renamed_twice_tenants_first_host_redirects_to_its_current_host():
    tenant = make_tenant("initech")
    services.rename_tenant(tenant, "initrode")
    services.rename_tenant(tenant, "intertrode")
    assert host_client(host("initech")).get("/").get("Location") == f"http://{host('intertrode')}/"
    assert host_client(host("initrode")).get("/").get("Location") == f"http://{host('intertrode')}/"


def test_a_tenant_may_take_back_a_name_it_left_and_that_redirect_goes():
    tenant = make_tenant("initech")
    services.rename_tenant(tenant, "initrode")
    services.rename_tenant(tenant, "initech")
    assert set(HostRedirect.objects.values_list("hostname", flat=True)) == {host("initrode")}
    assert host_client(host("initech")).get("/accounts/sign-in/").status_code == 200


def test_a_deleted_tenants_old_host_answers_404_not_a_redirect():
    tenant = make_tenant("initech")
    services.rename_tenant(tenant, "initrode")
    assert host_client(host("initech")).get("/").status_code == 301
    services.delete_tenant(tenant)
    assert host_client(host("initech")).get("/").status_code == 404


def test_after_the_redirect_expires_the_old_host_is_unknown_and_its_name_free(tenant):
    renamed = make_tenant("initech")
    services.rename_tenant(renamed, "initrode")
    with pytest.raises(ValidationError) as taken:
        services.check_new_tenant("initech", "Initech", "o@new.test")
    assert taken.value.message_dict == {"slug": ["The slug 'initech' is already taken."]}

    expire_redirects(renamed)
    assert host_client(host("initech")).get("/").status_code == 404
    assert services.delete_expired_redirects() == [host("initech")]
    # The name is free, though the renamed tenant's schema still carries it: the new tenant's
    # schema gets a name of its own.
    newcomer = make_tenant("initech", "New Initech")
    assert newcomer.schema_name.startswith("initech_") and schema_exists(newcomer.schema_name)
    assert host_client(host("initech")).get("/accounts/sign-in/").status_code == 200
    assert host_client(host("initrode")).get("/accounts/sign-in/").status_code == 200
    renamed.refresh_from_db()
    assert renamed.schema_name == "initech" and Tenant.objects.get(slug="initech").pk == newcomer.pk


def test_the_purge_job_deletes_expired_redirects():
    tenant = make_tenant("initech")
    services.rename_tenant(tenant, "initrode")
    services.purge_deleted_tenants()
    assert HostRedirect.objects.filter(tenant=tenant).exists()  # not expired yet
    expire_redirects(tenant)
    services.purge_deleted_tenants()
    assert not HostRedirect.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("globex", "The slug 'globex' is already taken."),
        ("www", "'www' is reserved; choose another name."),
        ("Bad_Slug", "Use lowercase letters only."),
        ("initech", "'initech' is already this tenant's slug."),
        ("", "A slug is required."),
    ],
)
def test_a_rename_to_a_bad_or_taken_slug_is_refused_by_field(other_tenant, slug, message):
    tenant = make_tenant("initech")
    with pytest.raises(ValidationError) as refused:
        services.rename_tenant(tenant, slug)
    assert refused.value.message_dict == {"slug": [message]}
    tenant.refresh_from_db()
    assert tenant.slug == "initech" and not HostRedirect.objects.exists()


def test_another_tenants_unexpired_redirect_takes_the_name_for_a_rename():
    first = make_tenant("initech")
    services.rename_tenant(first, "initrode")
    second = make_tenant("umbrella")
    with pytest.raises(ValidationError, match="already taken"):
        services.rename_tenant(second, "initech")


def test_a_deleted_tenant_is_not_renamed():
    tenant = services.delete_tenant(make_tenant("initech"))
    with pytest.raises(services.LifecycleRefused, match="restore it"):
        services.rename_tenant(tenant, "initrode")


# --- The operator API ------------------------------------------------------------------------


@pytest.fixture
def operator_api(operator):
    return api_client_for(settings.BASE_DOMAIN, issue_token(None, operator))


def test_the_operator_api_renames_a_tenant(operator_api):
    tenant = make_tenant("initech")
    response = operator_api.post(
        f"/api/v1/tenants/{tenant.public_id}/rename/", {"slug": "initrode"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["slug"] == "initrode" and response.json()["url"].startswith(
        f"http://{host('initrode')}"
    )
    assert host_client(host("initech")).get("/").status_code == 301


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"slug": "globex"}, "The slug 'globex' is already taken."),
        ({"slug": "admin"}, "'admin' is reserved; choose another name."),
        ({"slug": "-x"}, "A slug is 3 to 40 characters long."),
        ({"slug": "x" * 41}, "Ensure this field has no more than 40 characters."),
        ({}, "This field is required."),
    ],
)
def test_the_operator_api_answers_a_bad_slug_with_a_field_error(operator_api, other_tenant, payload, error):
    tenant = make_tenant("initech")
    response = operator_api.post(f"/api/v1/tenants/{tenant.public_id}/rename/", payload, format="json")
    assert response.status_code == 400 and response.json()["slug"] == [error]
    tenant.refresh_from_db()
    assert tenant.slug == "initech"


def test_the_operator_api_refuses_to_rename_a_deleted_tenant(operator_api):
    tenant = services.delete_tenant(make_tenant("initech"))
    response = operator_api.post(
        f"/api/v1/tenants/{tenant.public_id}/rename/", {"slug": "initrode"}, format="json"
    )
    assert response.status_code == 409 and "restore it" in response.json()["detail"]


def test_a_tenant_owners_credentials_cannot_rename_a_tenant(tenant, owner):
    target = make_tenant("initech")
    token_client = api_client_for(settings.BASE_DOMAIN, issue_token(tenant, owner))
    url = f"/api/v1/tenants/{target.public_id}/rename/"
    assert token_client.post(url, {"slug": "initrode"}, format="json").status_code == 401
    session_client = signed_in_client(tenant, owner)
    assert session_client.post(url, {"slug": "initrode"}, HTTP_HOST=settings.BASE_DOMAIN).status_code in (
        401,
        403,
    )
    target.refresh_from_db()
    assert target.slug == "initech"


# --- The global admin and the CLI ------------------------------------------------------------


@pytest.fixture
def admin_client(operator):
    client = host_client(settings.BASE_DOMAIN)
    client.force_login(operator)
    return client


CHANGELIST = "/admin/tenants/tenant/"


def test_the_admin_renames_a_tenant_through_a_form(admin_client):
    tenant = make_tenant("initech")
    form = {"action": "rename_tenant", "_selected_action": [tenant.pk]}
    page = admin_client.post(CHANGELIST, form)
    assert page.status_code == 200 and b'name="slug"' in page.content
    response = admin_client.post(CHANGELIST, {**form, "slug": "initrode"}, follow=True)
    assert f"Renamed to initrode: http://{host('initrode')}" in response.content.decode()
    assert Domain.objects.filter(tenant=tenant, domain=host("initrode")).exists()


def test_the_admins_rename_form_shows_the_services_field_errors(admin_client, other_tenant):
    tenant = make_tenant("initech")
    page = admin_client.post(
        CHANGELIST, {"action": "rename_tenant", "_selected_action": [tenant.pk], "slug": "globex"}
    )
    assert (
        page.status_code == 200 and "The slug &#x27;globex&#x27; is already taken." in page.content.decode()
    )
    tenant.refresh_from_db()
    assert tenant.slug == "initech"


def test_the_admin_renames_one_tenant_at_a_time(admin_client, tenant, other_tenant):
    response = admin_client.post(
        CHANGELIST, {"action": "rename_tenant", "_selected_action": [tenant.pk, other_tenant.pk]}, follow=True
    )
    assert "Select exactly one tenant to rename." in response.content.decode()


def test_the_rename_command_renames_and_says_where_the_tenant_is_now():
    tenant = make_tenant("initech")
    out = StringIO()
    call_command("rename_tenant", "initech", "initrode", stdout=out)
    assert f"http://{host('initrode')}" in out.getvalue()
    tenant.refresh_from_db()
    assert tenant.slug == "initrode"


def test_the_rename_command_gives_a_one_line_reason(tenant):
    make_tenant("initech")
    with pytest.raises(CommandError) as refused:
        call_command("rename_tenant", "initech", "acme")
    assert str(refused.value) == "cannot rename 'initech': The slug 'acme' is already taken."
