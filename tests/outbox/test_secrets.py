"""One-time links in emails are read by their recipient only: never in the tenant admin, the stored
row, an export or a log; a failed one is resent with a fresh link (README.md, "Email delivery")."""

import importlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from anymail.exceptions import AnymailError
from django.apps import apps as django_apps
from django.core import serializers
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.accounts import emails as accounts_emails
from tenant_apps.outbox import sending, services
from tenant_apps.outbox.models import OutboxMessage
from tests.mailbox import mail
from tests.outbox.rows import row, wait_for_status
from tests.outbox.test_recovery import broker_down

Status = OutboxMessage.Status

RESET_LINK = re.compile(r"http://\S+/accounts/reset/[^\s\"<]+/")
INVITATION_LINK = re.compile(r"http://\S+/accounts/invitations/[^\s\"<]+/")


def request_reset(tenant, owner, api_client, web):
    assert web().post("/accounts/password-reset/", {"email": owner.email}).status_code == 302
    return RESET_LINK


def invite_an_owner(tenant, owner, api_client, web):
    invitation = {"email": "co-owner@example.test", "role": "owner"}
    response = api_client(owner).post("/api/v1/invitations/", invitation, format="json")
    assert response.status_code == 201, response.content
    return INVITATION_LINK


def welcome_the_owner(tenant, owner, api_client, web):
    # What provisioning queues for a new tenant's owner (tenants.services.provision_tenant).
    with tenant_context(tenant):
        accounts_emails.owner_welcome(owner, accounts_emails.set_password_link(owner))
    return RESET_LINK


EMAILS = {"password_reset": request_reset, "invitation": invite_an_owner, "owner_welcome": welcome_the_owner}


def only_row(tenant, template) -> OutboxMessage:
    with tenant_context(tenant):
        [message] = OutboxMessage.objects.filter(template=f"accounts/{template}")
    return message


def stored_columns(message: OutboxMessage) -> str:
    """Everything of the row but its secret column, as an admin, a log or an export could show it."""
    return " ".join(
        str(getattr(message, field.attname))
        for field in message._meta.concrete_fields
        if field.name != "secret_values"
    )


def link_works(client, link: str, pattern) -> bool:
    response = client.get(urlsplit(link).path, follow=True)
    if pattern is RESET_LINK:  # Django swaps a valid token for a session marker and asks for a password
        return response.status_code == 200 and response.redirect_chain[-1][0].endswith("/set-password/")
    return response.status_code == 200 and b"Join Acme" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(EMAILS))
def test_an_admin_reading_an_owners_queued_email_with_a_link_sees_no_working_link(
    kind, tenant, owner, admin, api_client, web
):
    pattern = EMAILS[kind](tenant, owner, api_client, web)
    message = only_row(tenant, kind)
    # The recipient's copy (the email as the worker hands it to the provider) has a working link...
    [link] = set(pattern.findall(mail.outbox[0].body))
    assert link_works(web(), link, pattern)

    # ...the owner's admin reading the outbox sees the email, without it.
    listing = web(admin).get("/admin/outbox/outboxmessage/")
    detail = web(admin).get(f"/admin/outbox/outboxmessage/{message.pk}/change/")
    assert listing.status_code == detail.status_code == 200
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]
    for page in (listing.content.decode(), detail.content.decode()):
        assert token not in page and link not in page
    assert "hidden, sent only to the recipient" in detail.content.decode()
    # So does anyone reading the row itself.
    assert message.sensitive
    assert token not in stored_columns(message)
    assert pattern.search(message.body_text) is None and pattern.search(message.body_html) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(EMAILS))
def test_only_the_recipients_copy_at_the_provider_has_the_link_and_the_sent_row_keeps_no_secret(
    kind, outbox, tenant, owner, admin, api_client, web
):
    pattern = EMAILS[kind](tenant, owner, api_client, web)
    message = only_row(tenant, kind)

    sent = wait_for_status("acme", message.public_id, Status.SENT)

    [submission] = outbox.submissions
    [link] = set(pattern.findall(submission.data["TextBody"]))
    assert f'href="{link}"' in submission.data["HtmlBody"]
    assert link_works(web(), link, pattern)
    token = urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]
    assert sent.secret_values == {}
    assert token not in stored_columns(sent)
    page = web(admin).get(f"/admin/outbox/outboxmessage/{sent.pk}/change/").content.decode()
    assert token not in page


@pytest.mark.django_db(transaction=True)
def test_a_failed_owner_invitation_resent_by_an_owner_has_a_fresh_link_and_the_old_one_dies(
    outbox, tenant, owner, api_client, web
):
    outbox.script(422)
    invite_an_owner(tenant, owner, api_client, web)
    failed = wait_for_status("acme", only_row(tenant, "invitation").public_id, Status.FAILED)
    [old_link] = INVITATION_LINK.findall(outbox.submissions[0].data["TextBody"])
    assert failed.secret_values == {}

    response = web(owner).post(
        "/admin/outbox/outboxmessage/", {"action": "resend", "_selected_action": [failed.pk]}, follow=True
    )

    assert "Queued 1 message(s) again." in response.content.decode()
    with tenant_context(tenant):
        fresh = OutboxMessage.objects.exclude(pk=failed.pk).get(template="accounts/invitation")
    wait_for_status("acme", fresh.public_id, Status.SENT)
    [new_link] = INVITATION_LINK.findall(outbox.accepted()[0].data["TextBody"])
    assert new_link != old_link
    assert link_works(web(), new_link, INVITATION_LINK)
    assert web().get(urlsplit(old_link).path).status_code in (404, 410)
    assert not link_works(web(), old_link, INVITATION_LINK)
    # The failed row says what replaced it, and cannot be renewed a second time.
    failed = row("acme", failed.public_id)
    assert failed.status == Status.FAILED and str(fresh.public_id) in failed.last_error
    again = (
        web(owner)
        .post(
            "/admin/outbox/outboxmessage/", {"action": "resend", "_selected_action": [failed.pk]}, follow=True
        )
        .content.decode()
    )
    assert "Not resent" in again
    with tenant_context(tenant):
        assert OutboxMessage.objects.filter(template="accounts/invitation").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_password_reset_resent_by_an_admin_has_a_fresh_working_link(
    outbox, tenant, owner, admin, api_client, web
):
    outbox.script(422)
    request_reset(tenant, owner, api_client, web)
    failed = wait_for_status("acme", only_row(tenant, "password_reset").public_id, Status.FAILED)

    response = web(admin).post(
        "/admin/outbox/outboxmessage/", {"action": "resend", "_selected_action": [failed.pk]}, follow=True
    )

    assert "Queued 1 message(s) again." in response.content.decode()
    with tenant_context(tenant):
        fresh = OutboxMessage.objects.exclude(pk=failed.pk).get(template="accounts/password_reset")
    assert fresh.to == [owner.email]
    wait_for_status("acme", fresh.public_id, Status.SENT)
    # Minted again by accounts (Django's reset tokens are stateless: within the same second it is
    # the same token, and the failed one cannot be revoked on its own; it was never shown to anyone).
    [new_link] = RESET_LINK.findall(outbox.accepted()[0].data["TextBody"])
    assert link_works(web(), new_link, RESET_LINK)


@pytest.mark.django_db
def test_an_admin_cannot_renew_an_owner_invitation_which_only_an_owner_may_change(
    tenant, owner, admin, api_client, web
):
    invite_an_owner(tenant, owner, api_client, web)
    message = only_row(tenant, "invitation")
    with tenant_context(tenant):
        OutboxMessage.objects.filter(pk=message.pk).update(status=Status.FAILED, secret_values={})

    page = (
        web(admin)
        .post(
            "/admin/outbox/outboxmessage/",
            {"action": "resend", "_selected_action": [message.pk]},
            follow=True,
        )
        .content.decode()
    )

    assert "Not resent" in page and "Queued 1 message" not in page
    with tenant_context(tenant):
        assert OutboxMessage.objects.filter(template="accounts/invitation").count() == 1
        assert OutboxMessage.objects.get(pk=message.pk).renewal, "still renewable, by an owner"


@pytest.mark.django_db
def test_a_renewal_never_sends_a_fresh_link_to_an_address_changed_since(tenant, owner, admin, web):
    welcome_the_owner(tenant, owner, None, web)
    message = only_row(tenant, "owner_welcome")
    with tenant_context(tenant):
        OutboxMessage.objects.filter(pk=message.pk).update(status=Status.FAILED, secret_values={})
        owner.email = "attacker@example.test"
        owner.save(update_fields=["email"])

    page = (
        web(admin)
        .post(
            "/admin/outbox/outboxmessage/",
            {"action": "resend", "_selected_action": [message.pk]},
            follow=True,
        )
        .content.decode()
    )

    assert "address changed" in page
    with tenant_context(tenant):
        assert not OutboxMessage.objects.filter(to__contains=["attacker@example.test"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_sensitive_email_resubmitted_after_its_worker_was_lost_still_has_its_link(
    outbox, outbox_worker, tenant, owner, settings
):
    with broker_down(), tenant_context(tenant):
        accounts_emails.owner_welcome(owner, accounts_emails.set_password_link(owner))
    message = only_row(tenant, "owner_welcome")
    # As a worker leaves it when it dies between its claim and its status write.
    long_ago = timezone.now() - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT_SECONDS + 1)
    with tenant_context(tenant):
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.SENDING, attempts=1, updated_at=long_ago
        )

        assert services.recover_stalled() == {"queued": 0, "sending": 1}

    sent = wait_for_status("acme", message.public_id, Status.SENT)
    [submission] = outbox.submissions
    assert RESET_LINK.search(submission.data["TextBody"])
    assert sent.secret_values == {}


@pytest.mark.django_db(transaction=True)
def test_a_sensitive_email_whose_secret_is_gone_fails_instead_of_leaving_without_its_link(
    outbox, tenant, owner
):
    with broker_down(), tenant_context(tenant):
        accounts_emails.password_reset(owner, accounts_emails.set_password_link(owner))
    message = only_row(tenant, "password_reset")
    with tenant_context(tenant):
        OutboxMessage.objects.filter(pk=message.pk).update(secret_values={})
        services.enqueue_send(message.pk, "acme")

    failed = wait_for_status("acme", message.public_id, Status.FAILED)

    assert "MissingSecret" in failed.last_error
    assert outbox.submissions == []


@pytest.mark.django_db
def test_the_secret_column_is_left_out_of_exports(tenant, owner):
    with tenant_context(tenant):
        accounts_emails.password_reset(owner, "http://acme.localhost:8000/accounts/reset/MQ/secret-token/")
        exported = serializers.serialize("json", OutboxMessage.objects.all())

    assert "secret-token" not in exported and "secret_values" not in exported


@pytest.mark.django_db
def test_the_admin_refuses_a_filter_on_the_secret_column(tenant, owner, admin, web):
    with tenant_context(tenant):
        accounts_emails.password_reset(owner, "http://acme.localhost:8000/accounts/reset/MQ/secret-token/")

    for lookup in ("secret_values__icontains", "secret_values__has_key", "secret_values"):
        response = web(admin).get("/admin/outbox/outboxmessage/", {lookup: "secret"})
        assert response.status_code == 400, lookup


@pytest.mark.django_db
def test_a_provider_error_quoting_the_link_is_recorded_without_it(tenant, owner):
    link = "http://acme.localhost:8000/accounts/reset/MQ/secret-token/"
    with tenant_context(tenant):
        accounts_emails.password_reset(owner, link)
        OutboxMessage.objects.update(status=Status.SENDING, attempts=1)
        message = OutboxMessage.objects.get(template="accounts/password_reset")

        error = AnymailError(f"rejected: {link}")  # permanent: the row fails at once
        sending.record_failure(message, error, f"AnymailError: rejected: {link}")

        message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "secret-token" not in message.last_error and "[[secret:link:" in message.last_error


@pytest.mark.django_db
def test_queue_email_refuses_a_secret_that_would_be_stored_or_shown(tenant, owner, settings):
    from tests.mail_config import rendering_settings

    for name, value in rendering_settings(settings.TEMPLATES).items():
        setattr(settings, name, value)
    with tenant_context(tenant):
        # outboxtest/hello's text part uses {{ name }} only: a secret it does not use is a mistake...
        with pytest.raises(ValueError, match="does not use the secret"):
            services.queue_email(
                ["ann@example.com"], "outboxtest/hello", {"name": "Ann"}, secrets={"link": "x"}
            )
        # ...its subject shows {{ name }}: a secret there would be listed in the admin...
        with pytest.raises(ValueError, match="subject"):
            services.queue_email(["ann@example.com"], "outboxtest/hello", {}, secrets={"name": "s3cret"})
        # ...and a secret's value that also reaches the templates another way would be stored.
        with pytest.raises(ValueError, match="only through secrets"):
            services.queue_email(
                [owner.email],
                "accounts/password_reset",
                {"user": owner, "valid_hours": 1},
                secrets={"link": owner.email},
            )
        assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_links_stored_before_sensitive_rows_existed_are_taken_out(tenant):
    migration = importlib.import_module("tenant_apps.outbox.migrations.0004_hide_stored_links")
    link = "http://acme.localhost:8000/accounts/invitations/old-token/"
    with schema_context("acme"):
        common = {
            "to": ["ann@example.com"],
            "from_email": "a@b.c",
            "template": "accounts/invitation",
            "subject": "Join",
            "body_text": f"Accept:\n\n{link}\n",
            "body_html": f'<a href="{link}">Accept</a>',
        }
        unsent = OutboxMessage.objects.create(status=Status.QUEUED, **common)
        sent = OutboxMessage.objects.create(status=Status.SENT, **common)

        migration.hide_links(django_apps, None)

        unsent.refresh_from_db()
        sent.refresh_from_db()
    for message in (unsent, sent):
        assert message.sensitive and "old-token" not in stored_columns(message)
    assert unsent.delivered_bodies()[0] == f"Accept:\n\n{link}\n", "an unsent row is still delivered with it"
    assert sent.secret_values == {}
