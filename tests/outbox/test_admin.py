"""The outbox in the tenant admin, and the per-tenant email counts in the operator's admin."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.outbox.models import OutboxMessage
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status


def sign_in(client, email):
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "the admin refused the sign-in"
    return client


def make_row(schema: str, status: str = Status.SENT, subject: str = "Hello", **fields) -> OutboxMessage:
    with schema_context(schema):
        return OutboxMessage.objects.create(
            **{
                "to": ["ann@example.com"],
                "from_email": "Acme <no-reply@platform.test>",
                "template": "outboxtest/hello",
                "subject": subject,
                "body_text": "Hi Ann, plain text.",
                "body_html": "<p>Hi <b>Ann</b></p>",
                "status": status,
                **fields,
            }
        )


@pytest.fixture
def acme_admin(tenant, make_user, tenant_client):
    make_user("boss@acme.test", tenant, is_staff=True, is_superuser=True)
    return sign_in(tenant_client, "boss@acme.test")


def test_the_tenant_admin_lists_its_own_outbox_and_filters_by_status(acme_admin, other_tenant):
    make_row("acme", Status.FAILED, subject="Acme failed one")
    make_row("acme", Status.SENT, subject="Acme sent one")
    make_row("globex", Status.FAILED, subject="Globex secret")

    everything = acme_admin.get("/admin/outbox/outboxmessage/").content.decode()
    failed_only = acme_admin.get("/admin/outbox/outboxmessage/?status__exact=failed").content.decode()

    assert "Acme failed one" in everything and "Acme sent one" in everything
    assert "Globex secret" not in everything
    assert "Acme failed one" in failed_only and "Acme sent one" not in failed_only


def test_the_tenant_admin_searches_by_recipient(acme_admin):
    make_row("acme", subject="To Ann")
    make_row("acme", subject="To Bob", to=["bob@example.com"])

    page = acme_admin.get("/admin/outbox/outboxmessage/?q=bob@").content.decode()

    assert "To Bob" in page and "To Ann" not in page


def test_the_detail_page_is_read_only_and_shows_the_rendered_bodies(acme_admin):
    message = make_row("acme")

    response = acme_admin.get(f"/admin/outbox/outboxmessage/{message.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Hi Ann, plain text." in page
    assert 'sandbox=""' in page and "&lt;p&gt;Hi &lt;b&gt;Ann&lt;/b&gt;&lt;/p&gt;" in page
    assert 'name="_save"' not in page
    assert (
        acme_admin.post(f"/admin/outbox/outboxmessage/{message.pk}/change/", {"subject": "x"}).status_code
        == 403
    )
    assert acme_admin.get("/admin/outbox/outboxmessage/add/").status_code == 403


def test_the_resend_action_queues_failed_messages_again_through_the_service(
    acme_admin, django_capture_on_commit_callbacks
):
    failed = make_row("acme", Status.FAILED, attempts=3, last_error="HTTP 500")
    sent = make_row("acme", Status.SENT)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = acme_admin.post(
            "/admin/outbox/outboxmessage/",
            {"action": "resend", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    assert "Queued 1 message(s) again." in response.content.decode()
    with schema_context("acme"):
        failed.refresh_from_db()
        sent.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (Status.QUEUED, 0, "")
    assert sent.status == Status.SENT
    assert len(callbacks) == 1, "one send task, enqueued after commit"


def test_the_operator_admin_shows_each_tenants_email_counts_for_the_last_24_hours(
    make_user, root_client, tenant, other_tenant, django_assert_max_num_queries
):
    from datetime import timedelta

    from django.utils import timezone

    make_user("ops@platform.test", None, is_staff=True, is_superuser=True)
    sign_in(root_client, "ops@platform.test")
    make_row("acme", Status.FAILED)
    make_row("acme", Status.SENT)
    make_row("acme", Status.SENT)
    old = make_row("acme", Status.BOUNCED)
    with schema_context("acme"):
        OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    make_row("globex", Status.DELIVERED)

    # The tenant list's own queries (tests/tenants/test_admin_sites.py keeps them flat in the
    # number of tenants), the email counts among them, and whether the operator, signed in without
    # a second factor, has a device that should have asked for one (tenants/operator_two_factor.py).
    with django_assert_max_num_queries(17):
        page = root_client.get("/admin/tenants/tenant/").content.decode()

    acme_row = page[page.index(">acme<") : page.index(">globex<")]
    globex_row = page[page.index(">globex<") :]
    assert "failed 1" in acme_row and "sent 2" in acme_row and "bounced" not in acme_row
    assert "delivered 1" in globex_row


def test_the_counts_take_the_same_two_queries_for_any_number_of_tenants(
    tenant, other_tenant, django_assert_num_queries
):
    from tenant_apps.outbox.reports import email_counts_by_schema

    make_row("acme", Status.FAILED)
    make_row("acme", Status.SENT)
    make_row("globex", Status.SENT)
    connection.set_schema_to_public()
    connection.cursor().execute("SELECT 1")  # issues the schema switch's SET search_path, not counted

    # A catalog lookup (schemas with the table) and one UNION ALL over them.
    with django_assert_num_queries(2):
        counts = email_counts_by_schema(["acme", "globex", "nosuch"])

    assert counts == {"acme": {"failed": 1, "sent": 1}, "globex": {"sent": 1}}
    assert list(counts["acme"]) == ["failed", "sent"], "worst first"


def test_owners_and_admins_read_the_outbox_in_the_tenant_admin_and_members_do_not(tenant, make_user):
    from django.test import Client

    from tenant_apps.accounts.roles import Role
    from tenant_apps.accounts.services import create_user_with_role

    with tenant_context(tenant):
        admin = create_user_with_role("outbox-admin@acme.test", Role.ADMIN)
        member = create_user_with_role("outbox-member@acme.test", Role.MEMBER)
    for user, allowed in ((admin, True), (member, False)):
        client = Client(HTTP_HOST=tenant.primary_host)
        with tenant_context(tenant):
            client.force_login(user)
        status = client.get("/admin/outbox/outboxmessage/").status_code
        assert (status == 200) is allowed, (user.email, status)
