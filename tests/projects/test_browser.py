"""A person in headless Chromium: sign in on acme, create a project and a task for the member,
comment, and find the assignment email in the outbox. Screenshots go to tests/artifacts/."""

import pytest
from django_tenants.utils import tenant_context

from tests.browser import ARTIFACTS, browser_test, chromium_page

pytestmark = browser_test


@pytest.fixture
def browser_page(monkeypatch):
    with chromium_page(monkeypatch, 1100, 800) as page:
        yield page


@pytest.fixture
def cleanup_acme(tenant):
    yield
    from tenant_apps.outbox.models import OutboxMessage
    from tenant_apps.projects.models import Project

    with tenant_context(tenant):  # the flush after this test only empties the public schema
        Project.objects.filter(name="Browser launch").delete()
        OutboxMessage.objects.filter(template="projects/task_assigned").delete()


def test_a_person_runs_a_project_in_the_browser(
    live_server, tenant, owner, member, browser_page, cleanup_acme
):
    from tenant_apps.outbox.models import OutboxMessage
    from tests.factories import PASSWORD

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page
    port = live_server.url.rsplit(":", 1)[1]
    base = f"http://{tenant.primary_host}:{port}"

    page.goto(f"{base}/projects/")
    assert "/accounts/sign-in/" in page.url
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=ARTIFACTS / "1-sign-in.png")
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{base}/projects/new/")
    page.get_by_label("Name").fill("Browser launch")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("link", name="New task").click()
    page.get_by_label("Title").fill("Book the venue")
    page.get_by_label("Assignee").select_option(label=member.get_full_name())
    page.get_by_label("Due date").fill("2031-03-14")
    page.screenshot(path=ARTIFACTS / "2-new-task.png")
    page.get_by_role("button", name="Create task").click()

    page.get_by_label("Add a comment").fill("Venue shortlist attached.")
    page.get_by_role("button", name="Comment").click()
    assert page.get_by_text("Venue shortlist attached.").is_visible()
    page.screenshot(path=ARTIFACTS / "3-task-with-comment.png", full_page=True)

    with tenant_context(tenant):
        [email] = OutboxMessage.objects.filter(template="projects/task_assigned")
        assert email.to == [member.email] and "Book the venue" in email.subject
