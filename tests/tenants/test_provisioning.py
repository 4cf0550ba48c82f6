"""Provisioning is all or nothing, and every door (service, CLI, admin) gives the same answers."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from tenants import services
from tenants.models import Domain, Tenant
from tests.clients import host_client
from tests.mailbox import mail

pytestmark = pytest.mark.django_db

# Valid for Django's email validator (at most 320 characters), longer than the user table's column (254).
LONG_EMAIL = "owner@" + ".".join(["x" * 63] * 4) + ".test"


def welcome_link(email: str) -> str:
    """The one-time set-password link of the welcome email to ``email``, as its recipient reads it:
    provisioning hands it to no one else."""
    [welcome] = [m for m in mail.outbox if m.template == "accounts/owner_welcome" and m.to == [email]]
    return re.search(r"https?://\S+/accounts/reset/\S+/", welcome.body).group(0)


def test_provisioning_creates_the_schema_the_domain_and_the_owner(settings):
    provisioned = services.provision_tenant("initech", "Initech", "Boss@Initech.test")
    tenant = provisioned.tenant
    assert tenant.schema_name == "initech" and schema_exists("initech")
    assert list(tenant.domains.values_list("domain", "is_primary")) == [
        (f"initech.{settings.BASE_DOMAIN}", True)
    ]
    with tenant_context(tenant):
        owner = get_user_model().objects.get()
        assert owner.email == "boss@initech.test"
        assert owner.is_staff and not owner.has_usable_password()
    assert welcome_link("boss@initech.test").startswith(f"http://initech.{settings.BASE_DOMAIN}:")
    # The owner is not visible from the public schema or another tenant.
    connection.set_schema_to_public()
    assert not get_user_model().objects.filter(email="boss@initech.test").exists()


def test_hyphenated_slug_gets_an_underscored_schema():
    tenant = services.provision_tenant("big-corp", "Big Corp", "a@big.test").tenant
    assert tenant.schema_name == "big_corp" and schema_exists("big_corp")


def owner_created_then_failure(email, **kwargs):
    """A TENANT_FIRST_OWNER_HOOK that creates the owner, then fails."""
    from tenant_apps.accounts.provisioning import create_first_owner

    create_first_owner(email, **kwargs)
    assert get_user_model().objects.filter(email=email).exists()
    raise RuntimeError("injected failure at the owner step")


def test_a_failure_at_the_domain_step_leaves_nothing_behind(monkeypatch):
    def fail(*args, **kwargs):
        # The schema exists by now: provisioning created and migrated it before this step.
        assert schema_exists("doomed")
        raise RuntimeError("injected failure at the domain step")

    monkeypatch.setattr("tenants.services.Domain.objects.create", fail)
    with pytest.raises(RuntimeError, match="injected failure"):
        services.provision_tenant("doomed", "Doomed", "owner@doomed.test")

    assert not schema_exists("doomed")
    assert not Tenant.objects.filter(slug="doomed").exists()
    assert not Domain.objects.filter(domain__startswith="doomed.").exists()


def test_a_failure_in_the_first_owner_hook_leaves_nothing_behind(settings):
    settings.TENANT_FIRST_OWNER_HOOK = f"{__name__}.owner_created_then_failure"
    with pytest.raises(RuntimeError, match="injected failure"):
        services.provision_tenant("doomed", "Doomed", "owner@doomed.test")

    # The owner and the queued welcome were rows of the dropped schema.
    assert not schema_exists("doomed")
    assert not Tenant.objects.filter(slug="doomed").exists()
    assert not Domain.objects.filter(domain__startswith="doomed.").exists()
    assert not schema_exists("doomed")
    assert not Tenant.objects.filter(slug="doomed").exists()
    assert not Domain.objects.filter(domain__startswith="doomed.").exists()


def test_a_taken_slug_is_a_validation_error_not_a_database_error(tenant):
    with pytest.raises(ValidationError) as excinfo:
        services.provision_tenant("acme", "Another Acme", "x@acme2.test")
    assert excinfo.value.message_dict == {"slug": ["The slug 'acme' is already taken."]}


def test_a_slug_committed_by_a_concurrent_provisioning_after_the_checks_is_a_field_error(monkeypatch):
    """The race of twenty concurrent signups, made deterministic: another provisioning of the slug
    commits after this one's checks (check_new_tenant, free_schema_name) passed."""
    services.provision_tenant("rushed", "Rushed", "first@rushed.test")
    monkeypatch.setattr(services, "check_new_tenant", lambda *args: None)
    monkeypatch.setattr(services, "free_schema_name", lambda slug: "rushed")

    with pytest.raises(ValidationError) as refused:
        services.provision_tenant("rushed", "Rushed again", "second@rushed.test")

    assert refused.value.message_dict == {"slug": ["The slug 'rushed' is already taken."]}
    assert Tenant.objects.filter(slug="rushed").count() == 1


def test_bad_input_is_reported_field_by_field():
    with pytest.raises(ValidationError) as excinfo:
        services.provision_tenant("www", "", "not-an-email")
    errors = excinfo.value.message_dict
    assert set(errors) == {"slug", "name", "owner_email"}
    assert "reserved" in errors["slug"][0]


def test_the_owner_sets_a_password_through_the_one_time_link():
    provisioned = services.provision_tenant("hooli", "Hooli", "gavin@hooli.test")
    client = host_client(provisioned.tenant.primary_host)
    path = urlsplit(welcome_link("gavin@hooli.test")).path

    response = client.get(path)  # Django moves the token into the session and redirects
    assert response.status_code == 302
    form_url = response["Location"]
    response = client.post(
        form_url, {"new_password1": "Correct-Horse-42", "new_password2": "Correct-Horse-42"}
    )
    assert response.status_code == 302

    login = client.post(
        "/admin/login/?next=/admin/", {"username": "gavin@hooli.test", "password": "Correct-Horse-42"}
    )
    assert login.status_code == 302 and login["Location"] == "/admin/"
    # The link was for one use only.
    again = host_client(provisioned.tenant.primary_host).get(path, follow=True)
    assert b"invalid" in again.content.lower()


def test_suspend_and_reactivate_record_the_status_and_reason(tenant):
    services.suspend_tenant(tenant, "unpaid")
    tenant.refresh_from_db()
    assert (tenant.status, tenant.suspended_reason) == ("suspended", "unpaid")
    services.reactivate_tenant(tenant)
    tenant.refresh_from_db()
    assert (tenant.status, tenant.suspended_reason) == ("active", "")


def test_purging_a_deleted_tenant_drops_its_schema_and_its_domains():
    # Deleting is soft (tests/tenants/test_lifecycle_delete.py); purging is the hard drop.
    tenant = services.provision_tenant("gone", "Gone", "o@gone.test").tenant
    services.purge_tenant(services.delete_tenant(tenant))
    assert not schema_exists("gone")
    assert not Domain.objects.filter(domain__startswith="gone.").exists()
    assert host_client(f"gone.{tenant.primary_host.split('.', 1)[1]}").get("/").status_code == 404


def test_user_counts_come_from_each_tenants_own_schema(tenant, other_tenant, make_user):
    make_user("second@acme.test", tenant)
    counts = {t.slug: t.user_count for t in services.attach_user_counts(Tenant.objects.all())}
    assert counts["acme"] == counts["globex"] + 1


def test_provisioning_emails_the_owner_the_one_time_link_through_the_outbox():
    provisioned = services.provision_tenant("vandelay", "Vandelay Industries", "art@vandelay.test")
    [welcome] = [m for m in mail.outbox if m.template == "accounts/owner_welcome"]
    assert welcome.to == ["art@vandelay.test"]
    assert welcome.subject == "Your Vandelay Industries workspace is ready"
    assert "/accounts/reset/" in welcome.body and welcome.alternatives
    # The link is the owner's alone: the service does not hand it to whoever provisioned.
    assert not hasattr(provisioned, "set_password_url")


def test_an_owner_with_a_password_gets_no_welcome_link():
    services.provision_tenant("pw-co", "Password Co", "o@pw-co.test", owner_password="Correct-Horse-42")
    assert not [m for m in mail.outbox if m.template == "accounts/owner_welcome"]


def test_an_owner_email_longer_than_the_user_column_is_a_field_error_and_nothing_is_written():
    with pytest.raises(ValidationError) as excinfo:
        services.provision_tenant("longmail", "Long Mail", LONG_EMAIL)
    assert excinfo.value.message_dict == {"owner_email": ["An email address is at most 254 characters long."]}
    assert not Tenant.objects.filter(slug="longmail").exists() and not schema_exists("longmail")
