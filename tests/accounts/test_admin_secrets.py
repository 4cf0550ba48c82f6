"""No admin answers questions about a secret column, on either site, for any registered ModelAdmin
(ours and third parties': auth groups, axes, knox).

A list filter such as ``?password__startswith=pbkdf2$`` answers by count: enough to read a hash
one character at a time. Secret columns are named by tenants.admin_site.is_secret_field; every
admin site of the platform wraps every ModelAdmin registered on it in SecretFieldsGuard.
"""

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.contrib.auth.models import Group
from django.core.checks import Error
from django.db.models.constants import LOOKUP_SEP
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from tenant_apps.accounts.models import Invitation, User
from tenants.admin_site import GuardedAdminSite, SecretFieldsGuard, check_admin_secrets, is_secret_field
from tenants.admin_site import tenant_admin_site as tenant_site
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SITES = {"global": admin.site, "tenant": tenant_site}


def secret_paths(model):
    """Lookup paths to every secret column of ``model`` and of the models one relation away."""
    paths = []
    for field in model._meta.get_fields():
        if is_secret_field(field):
            paths.append(field.name)
        elif field.is_relation and field.related_model is not None:
            paths += [
                f"{field.name}{LOOKUP_SEP}{far.name}"
                for far in field.related_model._meta.get_fields()
                if is_secret_field(far)
            ]
    return paths


def registered():
    return [
        pytest.param(site_name, model, id=f"{site_name}:{model._meta.label}")
        for site_name, site in SITES.items()
        for model in site._registry
    ]


def test_the_secret_columns_are_the_ones_we_know_of():
    from django.apps import apps

    secret = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if is_secret_field(field)
    }
    assert {
        "accounts.User.password",
        "accounts.Invitation.token_hash",
        "knox.AuthToken.digest",
        "knox.AuthToken.token_key",
        "sessions.Session.session_key",
        "sessions.Session.session_data",
        "accounts.UserSession.session_key",
        "axes.AccessLog.session_hash",
        "outbox.OutboxMessage.secret_values",
    } <= secret
    # Not secrets: an outbox message's de-duplication key, the "digest" email preference.
    assert "outbox.OutboxMessage.dedup_key" not in secret
    assert "projects.NotificationPreferences.digest" not in secret


@pytest.mark.parametrize("site_name, model", registered())
def test_no_registered_admin_allows_a_lookup_search_or_ordering_on_a_secret(
    site_name, model, owner, operator
):
    model_admin = SITES[site_name]._registry[model]
    assert isinstance(model_admin, SecretFieldsGuard)
    request = RequestFactory().get("/")
    request.user = operator if site_name == "global" else owner
    for path in secret_paths(model):
        for lookup in (path, f"{path}__startswith", f"{path}__regex", f"{path}__gt"):
            assert not model_admin.lookup_allowed(lookup, "x", request), lookup
        assert not model_admin.to_field_allowed(request, path)

    def touches_secret(name):
        name = name if isinstance(name, str) else name[0] if isinstance(name, (list, tuple)) else ""
        name = name.lstrip("-^=@")
        order = getattr(getattr(model_admin, name, None), "admin_order_field", None)
        if isinstance(order, str) and touches_secret(order):
            return True
        try:
            field = model._meta.get_field(name.split(LOOKUP_SEP)[0])
        except Exception:
            return False
        return is_secret_field(field) or name in secret_paths(model)

    configured = [
        *model_admin.get_search_fields(request),
        *model_admin.get_list_display(request),
        *model_admin.get_list_filter(request),
        *(model_admin.get_ordering(request) or ()),
        *model_admin.get_sortable_by(request),
    ]
    assert not [name for name in configured if touches_secret(name)]
    assert not is_secret_field(model._meta.pk)  # a secret primary key would be in every admin URL


def test_the_startup_check_finds_nothing_on_our_sites():
    assert check_admin_secrets(None, sites=SITES.values()) == []


def test_the_startup_check_names_an_admin_that_exposes_a_secret():
    site = GuardedAdminSite(name="scratch")

    class Careless(ModelAdmin):
        search_fields = ("email", "password")
        list_display = ("email", "password", "hash_column")
        ordering = ("-password",)

        @admin.display(ordering="password")
        def hash_column(self, obj):  # sorts the list by hash: an oracle, even without showing it
            return "-"

    site.register(User, Careless)
    errors = check_admin_secrets(None, sites=[site])
    assert errors and all(isinstance(e, Error) for e in errors)
    assert {"search_fields", "list_display", "ordering"} <= {e.obj for e in errors}
    assert "hash_column" in next(e.msg for e in errors if e.obj == "list_display")
    # Even then, at run time the guard strips what reads the secret column.
    request = RequestFactory().get("/")
    model_admin = site._registry[User]
    assert model_admin.get_search_fields(request) == ("email",)
    assert model_admin.get_list_display(request) == ("email",)
    assert model_admin.get_ordering(request) == ()


def test_an_admin_site_that_does_not_guard_is_named_by_the_check():
    from django.contrib.admin import AdminSite

    site = AdminSite(name="unguarded")
    site.register(Group)
    assert [e.id for e in check_admin_secrets(None, sites=[site])] == ["tenants.E101"]


# --- through HTTP, as the people who can reach each admin ----------------------------------------


def sign_in(client, email):
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def test_the_tenant_admin_does_not_filter_users_by_password_hash(owner, tenant_client):
    sign_in(tenant_client, owner.email)
    assert tenant_client.get("/admin/accounts/user/").status_code == 200
    for query in ("password__startswith=md5", "password=x", "groups__user__password__startswith=md5"):
        assert tenant_client.get(f"/admin/accounts/user/?{query}").status_code == 400, query
    for query in ("token_hash__startswith=a", "user__password__startswith=md5", "invited_by__password=x"):
        assert tenant_client.get(f"/admin/accounts/invitation/?{query}").status_code == 400, query


def test_the_tenant_admin_search_does_not_reach_a_secret(owner, tenant, tenant_client):
    with tenant_context(tenant):
        from tenant_apps.accounts import invitations

        invitation = invitations.invite(owner, "pending@x.test", "member")
        token_hash = Invitation.objects.get(pk=invitation.pk).token_hash
    sign_in(tenant_client, owner.email)
    page = tenant_client.get(f"/admin/accounts/invitation/?q={token_hash[:12]}")
    assert page.status_code == 200 and b"pending@x.test" not in page.content


def test_the_global_admin_does_not_filter_operators_by_password_hash(operator, root_client):
    sign_in(root_client, operator.email)
    assert root_client.get("/admin/accounts/user/").status_code == 200
    assert root_client.get("/admin/accounts/user/?password__startswith=md5").status_code == 400
    assert root_client.get("/admin/auth/group/?user__password__startswith=md5").status_code == 400
    assert root_client.get("/admin/axes/accesslog/?session_hash__startswith=a").status_code == 400


def test_the_global_admin_does_not_list_api_tokens(operator, root_client):
    # knox's own admin shows, searches and links by the token digest (its primary key).
    sign_in(root_client, operator.email)
    assert root_client.get("/admin/knox/authtoken/").status_code == 404
    assert root_client.get("/admin/knox/authtoken/?q=a").status_code == 404


# --- NUL bytes in list filters, searches and autocomplete, on both sites -------------------------


ASSIGNEE_AUTOCOMPLETE = "/admin/autocomplete/?app_label=projects&model_name=task&field_name=assignee"


@pytest.fixture
def without_guard(settings):
    """Only the admin's own checks: the request guard middleware would answer first."""
    guard = "tenants.request_guards.RequestGuardMiddleware"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != guard]


@pytest.mark.parametrize("guarded", [True, False], ids=["with-request-guard", "admin-alone"])
def test_nul_bytes_in_admin_filters_searches_and_autocomplete_are_a_400(
    request, guarded, owner, operator, tenant_client, root_client
):
    if not guarded:
        request.getfixturevalue("without_guard")
    sign_in(tenant_client, owner.email)
    sign_in(root_client, operator.email)
    for client, url in [
        (tenant_client, "/admin/accounts/user/?email=a%00b"),
        (tenant_client, "/admin/accounts/invitation/?email__startswith=%00"),
        (tenant_client, f"{ASSIGNEE_AUTOCOMPLETE}&term=%00"),
        (root_client, "/admin/accounts/user/?email=%00"),
        (root_client, "/admin/tenants/tenant/?slug=%00"),
    ]:
        assert client.get(url).status_code == 400, url
    # The changelist's search box is a form field: alone, the admin shows the field's error.
    for client, url in [
        (tenant_client, "/admin/accounts/user/?q=a%00b"),
        (root_client, "/admin/tenants/tenant/?q=x%00"),
        (root_client, "/admin/axes/accessattempt/?q=%00"),
    ]:
        response = client.get(url)
        if guarded:
            assert response.status_code == 400, url
        else:
            assert response.status_code == 200 and b"Null characters are not allowed" in response.content, url
