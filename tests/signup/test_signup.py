"""Self-service signup on the root domain: a visitor creates a workspace and lands in it signed in."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from shared_apps.signup import services
from tenant_apps.accounts.roles import Role, role_of
from tenant_apps.outbox.models import OutboxMessage
from tenants.models import Domain, Tenant
from tests.conftest import host_client
from tests.signup.conftest import PASSWORD, signup_data

pytestmark = pytest.mark.django_db


def assert_nothing_left_of(slug):
    connection.set_schema_to_public()
    assert not Tenant.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain__startswith=f"{slug}.").exists()
    assert not schema_exists(slug.replace("-", "_"))


def test_the_signup_form_renders_with_a_label_for_every_field(visitor):
    response = visitor.get("/signup/")
    assert response.status_code == 200
    for field, label in [
        ("company_name", "Company name"),
        ("slug", "Workspace address"),
        ("owner_name", "Your name"),
        ("email", "Email"),
        ("password", "Password"),
    ]:
        assert f'<label for="id_{field}">{label}</label>'.encode() in response.content
    assert b"csrfmiddlewaretoken" in response.content
    assert b'data-check-url="/signup/check-slug/"' in response.content


def test_the_root_home_page_links_to_signup(visitor):
    assert b'href="/signup/"' in visitor.get("/").content


def test_signup_is_not_served_on_a_tenants_host(tenant_client):
    assert tenant_client.get("/signup/").status_code == 404


def test_a_signup_creates_the_workspace_and_its_owner_who_signs_in_with_the_chosen_password(visitor):
    response = visitor.post("/signup/", signup_data())
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.name == "Initech" and Domain.objects.get(tenant=tenant).domain == tenant.primary_host
    with tenant_context(tenant):
        [owner] = get_user_model().objects.all()
        assert owner.email == "peter@initech.test" and owner.full_name == "Peter Gibbons"
        assert role_of(owner) == Role.OWNER
        assert owner.check_password(PASSWORD)
    signed_in = host_client(tenant.primary_host)
    signed_in.post("/accounts/sign-in/", {"username": "peter@initech.test", "password": PASSWORD})
    assert signed_in.get("/accounts/").status_code == 200


def test_the_welcome_email_is_queued_in_the_new_workspace_and_nowhere_else(visitor, tenant):
    visitor.post("/signup/", signup_data())
    new = Tenant.objects.get(slug="initech")
    with tenant_context(new):
        [email] = OutboxMessage.objects.all()
        assert email.template == "accounts/signup_welcome" and email.to == ["peter@initech.test"]
        assert email.subject == "Welcome to Initech, your new workspace"
        assert new.url("/accounts/sign-in/") in email.body_text and "Peter Gibbons" in email.body_text
        assert PASSWORD not in email.body_text + email.body_html and not email.sensitive
    with tenant_context(tenant):
        assert not OutboxMessage.objects.filter(template="accounts/signup_welcome").exists()


def test_the_signup_redirect_lands_the_owner_signed_in_on_the_new_subdomain(visitor):
    response = visitor.post("/signup/", signup_data())
    url = urlsplit(response["Location"])
    assert url.hostname == "initech.localhost" and url.path.startswith("/accounts/handoff/")
    browser = host_client(url.hostname)
    landed = browser.get(url.path, follow=True)
    assert landed.status_code == 200 and landed.request["PATH_INFO"] == "/projects/"
    assert landed.context["user"].email == "peter@initech.test"
    # The root domain's browser got no session of the workspace: cookies are per host.
    assert "sessionid" not in visitor.cookies
    # The link was for one use.
    assert host_client(url.hostname).get(url.path).status_code == 404


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("admin", "'admin' is reserved; choose another name."),
        ("signup", "'signup' is reserved; choose another name."),
        ("9lives", "A slug must start with a letter."),
        ("in itech", "Use only lowercase letters, digits and hyphens."),
        ("ab", "A slug is 3 to 40 characters long."),
        ("acme", "The slug 'acme' is already taken."),
        ("ACME", "The slug 'acme' is already taken."),
        ("", "This field is required."),
    ],
)
def test_a_slug_refused_by_provisioning_rules_shows_next_to_the_slug_field(visitor, tenant, slug, message):
    response = visitor.post("/signup/", signup_data(slug=slug))
    assert response.status_code == 400
    assert response.context["form"].errors == {"slug": [message]}
    assert b'aria-invalid="true"' in response.content
    assert Tenant.objects.count() == 2  # acme and globex only


def test_company_name_and_email_errors_show_next_to_their_fields(visitor):
    response = visitor.post("/signup/", signup_data(company_name="   ", email="not-an-email"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"company_name", "email"}
    assert_nothing_left_of("initech")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short"),
        ("password123", "This password is too common."),
        ("84736251909182", "This password is entirely numeric."),
        ("peter@initech.test", "The password is too similar to the email"),
    ],
)
def test_a_weak_password_is_refused_by_djangos_validators(visitor, password, message):
    response = visitor.post("/signup/", signup_data(password=password))
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors["password"])
    assert_nothing_left_of("initech")


@pytest.mark.parametrize("field", ["company_name", "slug", "owner_name", "email", "password"])
def test_a_nul_byte_in_any_field_is_a_field_error_and_writes_nothing(visitor, field):
    response = visitor.post("/signup/", signup_data(**{field: signup_data()[field][:3] + "\x00x"}))
    assert response.status_code == 400 and field in response.context["form"].errors
    assert_nothing_left_of("initech")


@pytest.mark.parametrize("field", ["company_name", "slug", "owner_name", "email", "password"])
def test_a_huge_value_in_any_field_is_a_field_error_and_writes_nothing(visitor, field):
    response = visitor.post("/signup/", signup_data(**{field: "a" * 100_000}))
    assert response.status_code == 400 and field in response.context["form"].errors
    assert_nothing_left_of("initech")


def test_a_failure_after_provisioning_leaves_no_tenant_schema_domain_user_or_email(monkeypatch, tenant):
    def broken_welcome(user):
        OutboxMessage.objects.create(to=[user.email], template="x", subject="x", body_text="x")
        raise RuntimeError("injected failure while queueing the welcome email")

    monkeypatch.setattr("shared_apps.signup.services.emails.signup_welcome", broken_welcome)
    with pytest.raises(RuntimeError, match="injected failure"):
        services.sign_up(**signup_data())
    assert_nothing_left_of("initech")
    with tenant_context(tenant):
        assert not get_user_model().objects.filter(email="peter@initech.test").exists()


def test_a_slug_taken_between_the_check_and_the_signup_is_a_slug_error(visitor, monkeypatch):
    # The form's own check passes; provisioning then finds the slug taken (another signup won).
    monkeypatch.setattr("shared_apps.signup.forms.check_new_tenant", lambda *args: None)
    services.sign_up(**signup_data(email="first@initech.test"))
    response = visitor.post("/signup/", signup_data())
    assert response.status_code == 400
    assert response.context["form"].errors == {"slug": ["The slug 'initech' is already taken."]}
    assert Tenant.objects.filter(slug="initech").count() == 1


def test_signup_turned_off_answers_404_for_the_form_and_the_check(visitor, settings):
    settings.SIGNUP_ENABLED = False
    assert visitor.get("/signup/").status_code == 404
    assert visitor.post("/signup/", signup_data()).status_code == 404
    assert visitor.get("/signup/check-slug/?slug=initech").status_code == 404
    assert b'href="/signup/"' not in visitor.get("/").content
    assert_nothing_left_of("initech")


def test_other_methods_are_refused(visitor):
    assert visitor.put("/signup/").status_code == 405
    assert visitor.post("/signup/check-slug/").status_code == 405
