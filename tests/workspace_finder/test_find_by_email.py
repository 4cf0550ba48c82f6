"""Find my workspace: the same answer for every address; the real worker emails the workspaces
an address belongs to (active users of active tenants), through the public schema's outbox."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from shared_apps.workspace_finder import services
from tenant_apps.accounts.roles import Role
from tenant_apps.outbox.models import OutboxMessage
from tenants.services import suspend_tenant
from tests.outbox.rows import wait_until
from tests.workspace_finder.conftest import platform_rows

Status = OutboxMessage.Status
SENT_PAGE = b"Check your inbox"


def sent_rows(count: int) -> list[OutboxMessage]:
    """Wait until ``count`` platform emails are sent; return them."""
    return wait_until(
        lambda: (
            (rows := [r for r in platform_rows() if r.status == Status.SENT]) and len(rows) >= count and rows
        )
    )


def settle(worker) -> None:
    """Every finder task enqueued so far has run, and so have the send tasks they queued."""
    worker.ping()
    worker.ping()


# --- The request: the same answer, no lookup ------------------------------------------------------


@pytest.mark.django_db
def test_a_known_and_an_unknown_address_get_the_same_answer(
    visitor, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        known = visitor.post("/workspace/find/", {"email": "member@acme.test"})
        unknown = visitor.post("/workspace/find/", {"email": "nobody-at-all@nowhere.test"})
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert SENT_PAGE in known.content
    assert len(callbacks) == 2  # both enqueue the task: the worker finds out, not the request


@pytest.mark.django_db
def test_the_request_looks_nothing_up(visitor, member):
    with CaptureQueriesContext(connection) as queries:
        assert visitor.post("/workspace/find/", {"email": "member@acme.test"}).status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if "accounts_user" in q["sql"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("", "This field is required."),
        ("not an email", "Enter a valid email address."),
        ("a\x00b@example.test", "Null characters are not allowed."),
        ("a" * 290 + "@example.test", "Ensure this value has at most 254 characters"),
    ],
)
def test_a_bad_address_is_a_400_with_the_fields_error_and_nothing_is_enqueued(
    visitor, email, error, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = visitor.post("/workspace/find/", {"email": email})
    assert response.status_code == 400
    page = response.content.decode()
    assert error in page and 'id="id_email_error"' in page and 'aria-invalid="true"' in page
    assert SENT_PAGE not in response.content
    assert callbacks == []


@pytest.mark.django_db
def test_the_form_needs_its_csrf_token(tenant):
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_HOST=settings.BASE_DOMAIN)
    assert client.post("/workspace/find/", {"email": "member@acme.test"}).status_code == 403


@pytest.mark.django_db
def test_past_the_limit_per_client_the_page_answers_the_same_and_nothing_is_enqueued(
    visitor, settings, django_capture_on_commit_callbacks
):
    settings.WORKSPACE_FINDER_REQUESTS_PER_HOUR = 2
    answers = []
    with django_capture_on_commit_callbacks() as callbacks:
        for n in range(3):
            answers.append(visitor.post("/workspace/find/", {"email": f"someone{n}@example.test"}))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == answers[2].content
    assert len(callbacks) == 2


def test_the_limits_count_per_address_and_per_client_address(settings):
    settings.WORKSPACE_FINDER_EMAILS_PER_HOUR = 1
    settings.WORKSPACE_FINDER_REQUESTS_PER_HOUR = 3
    assert services.allow_workspace_list("Ann@Example.test", "192.0.2.1")
    assert not services.allow_workspace_list("ann@example.test ", "192.0.2.2")  # the same address
    assert services.allow_workspace_list("bob@example.test", "192.0.2.1")
    assert services.allow_workspace_list("cy@example.test", "192.0.2.1")
    assert not services.allow_workspace_list("dee@example.test", "192.0.2.1")  # a 4th from that client
    assert services.allow_workspace_list("eve@example.test", "192.0.2.3")


# --- The worker: who is listed ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_address_of_acme_and_globex_receives_one_email_listing_both(
    visitor, finder, tenant, other_tenant, make_role_user
):
    make_role_user("pat@both.test", Role.MEMBER, tenant)
    make_role_user("pat@both.test", Role.ADMIN, other_tenant)

    assert SENT_PAGE in visitor.post("/workspace/find/", {"email": "Pat@Both.test"}).content

    [row] = sent_rows(1)
    [submission] = finder.accepted()
    assert submission.data["To"] == "pat@both.test"
    assert submission.data["Subject"] == f"Your workspaces on {settings.BASE_DOMAIN}"
    text, html = submission.data["TextBody"], submission.data["HtmlBody"]
    for workspace in (tenant, other_tenant):
        assert f"- {workspace.name}: {workspace.url('/accounts/sign-in/')}" in text
        assert f'href="{workspace.url("/accounts/sign-in/")}"' in html
    assert "/accounts/handoff/" not in text + html and "/reset/" not in text + html  # no secret link
    assert submission.metadata["tenant"] == "public"  # the platform's outbox, not a tenant's
    assert row.provider_message_id == submission.message_id
    for workspace in (tenant, other_tenant):
        with tenant_context(workspace):
            assert not OutboxMessage.objects.filter(to__contains=["pat@both.test"]).exists()


def only_acme_is_listed(finder, tenant, other_tenant, email) -> None:
    sent_rows(1)
    [submission] = finder.accepted()
    body = submission.data["TextBody"]
    assert submission.data["To"] == email
    assert "It belongs to one workspace:" in body and tenant.url("/accounts/sign-in/") in body
    assert other_tenant.name not in body and other_tenant.url("/accounts/sign-in/") not in body


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_user_is_not_listed(visitor, finder, tenant, other_tenant, make_role_user):
    make_role_user("sam@two.test", Role.MEMBER, tenant)
    gone = make_role_user("sam@two.test", Role.MEMBER, other_tenant)
    with tenant_context(other_tenant):
        gone.is_active = False
        gone.save(update_fields=["is_active"])

    visitor.post("/workspace/find/", {"email": "sam@two.test"})

    only_acme_is_listed(finder, tenant, other_tenant, "sam@two.test")


@pytest.mark.django_db(transaction=True)
def test_a_suspended_tenant_is_not_listed(visitor, finder, tenant, other_tenant, make_role_user):
    make_role_user("lee@two.test", Role.MEMBER, tenant)
    make_role_user("lee@two.test", Role.MEMBER, other_tenant)
    suspend_tenant(other_tenant, "unpaid")

    visitor.post("/workspace/find/", {"email": "lee@two.test"})

    only_acme_is_listed(finder, tenant, other_tenant, "lee@two.test")


@pytest.mark.django_db(transaction=True)
def test_an_unknown_address_receives_nothing(visitor, finder, outbox_worker, member):
    assert SENT_PAGE in visitor.post("/workspace/find/", {"email": "ghost@nowhere.test"}).content
    # The positive event after it: a known address's email, asked for second, is sent.
    visitor.post("/workspace/find/", {"email": "member@acme.test"})
    sent_rows(1)
    settle(outbox_worker)
    assert [s.data["To"] for s in finder.accepted()] == ["member@acme.test"]
    assert [row.to for row in platform_rows()] == [["member@acme.test"]]


@pytest.mark.django_db(transaction=True)
def test_past_the_limit_per_address_nothing_more_is_sent(visitor, finder, outbox_worker, member, settings):
    settings.WORKSPACE_FINDER_EMAILS_PER_HOUR = 2
    answers = [visitor.post("/workspace/find/", {"email": "member@acme.test"}) for _ in range(3)]
    assert {a.content for a in answers} == {answers[0].content} and SENT_PAGE in answers[0].content

    sent_rows(2)  # the allowed ones were sent
    settle(outbox_worker)
    assert len(finder.accepted()) == 2
    assert len(platform_rows()) == 2


@pytest.mark.django_db
def test_a_platform_email_is_queued_only_in_the_public_schema(tenant):
    from tenant_apps.outbox.services import queue_platform_email

    with tenant_context(tenant), pytest.raises(RuntimeError, match="public schema"):
        queue_platform_email(["a@b.test"], services.EMAIL_TEMPLATE, {"workspaces": []})


@pytest.mark.django_db(transaction=True)
def test_a_platform_email_whose_task_was_lost_is_sent_by_beats_recovery_job(finder, outbox_worker):
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.outbox.tasks import recover_all_tenants

    connection.set_schema_to_public()
    # A row whose send task never reached the broker, queued longer than the grace period.
    lost = OutboxMessage.objects.create(
        to=["pat@example.test"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        template=services.EMAIL_TEMPLATE,
        subject="Your workspaces",
        body_text="Acme",
        next_attempt_at=timezone.now() - timedelta(seconds=settings.OUTBOX_QUEUED_GRACE_SECONDS + 1),
    )

    recover_all_tenants.delay()

    [sent] = sent_rows(1)
    assert sent.id == lost.id and sent.attempts == 1
    [submission] = finder.accepted()
    assert submission.data["To"] == "pat@example.test" and submission.metadata["tenant"] == "public"
