"""The global admin's dashboard (tenants/admin_theme.py): the operator's overview of every tenant,
each panel one statement whatever the number of tenants, for operators only."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants import lifecycle, services
from tenants.models import Domain, Tenant, TenantExport
from tests.factories import OutboxMessageFactory, UserFactory
from tests.tenants.test_admin_sites import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(operator, root_client):
    assert sign_in(root_client, operator.email)
    return root_client


def panels(client) -> dict[str, dict]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {panel["id"]: panel for panel in response.context["panels"]}


def cell_text(cell):
    return cell["text"] if isinstance(cell, dict) and "text" in cell else cell


def rows(panel) -> list[list]:
    return [[cell_text(cell) for cell in row] for row in panel["rows"]]


def provision(slug, **kwargs) -> Tenant:
    return services.provision_tenant(slug, slug.title(), f"owner@{slug}.test", **kwargs).tenant


def test_tenants_are_counted_by_plan_and_status(operator_client, tenant, other_tenant):
    provision("dash-one", plan="free")
    services.suspend_tenant(provision("dash-two", plan="free"), "unpaid")
    lifecycle.delete_tenant(provision("dash-three", plan="team"))
    panel = panels(operator_client)["tenants-by-status"]
    assert panel["headers"] == ["Plan", "Active", "Suspended", "Deleted (restorable)", "Total"]
    assert rows(panel) == [
        ["free", 1, 1, 0, 2],
        ["team", 0, 0, 1, 1],
        ["unlimited", 2, 0, 0, 2],
        ["All plans", 3, 1, 1, 5],
    ]


def test_signups_count_the_tenants_created_in_the_last_30_days_by_day(operator_client, tenant):
    today = timezone.localdate()
    for slug, days_ago in (("sign-a", 3), ("sign-b", 3), ("sign-c", 29), ("sign-old", 31)):
        created = provision(slug)
        Tenant.objects.filter(pk=created.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    Tenant.objects.filter(slug__in=["acme", "globex"]).update(created_at=timezone.now() - timedelta(days=90))
    panel = panels(operator_client)["signups"]
    assert panel["title"] == "Signups, last 30 days: 3"
    assert [row[:2] for row in rows(panel)] == [
        [(today - timedelta(days=3)).isoformat(), 2],
        [(today - timedelta(days=29)).isoformat(), 1],
    ]


def test_emails_of_the_last_day_are_summed_across_tenants(operator_client, tenant, other_tenant):
    before = rows(panels(operator_client)["emails"])[0]
    for status in ("sent", "delivered", "failed", "bounced", "queued"):
        OutboxMessageFactory(tenant=tenant, status=status)
    OutboxMessageFactory(tenant=other_tenant, status="sent")
    # Older than a day: not counted.
    old = OutboxMessageFactory(tenant=other_tenant, status="failed")
    with tenant_context(other_tenant):
        type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    after = rows(panels(operator_client)["emails"])[0]
    assert [a - b for a, b in zip(after[:3], before[:3], strict=True)] == [3, 2, 1]
    assert after[3] >= 2


def test_the_largest_tenants_come_first_with_their_users(operator_client, tenant, other_tenant):
    with tenant_context(other_tenant):
        for n in range(3):
            UserFactory(email=f"extra{n}@globex.test")
    # Megabytes of email bodies (random: TOAST compresses repeated text to nothing) make globex
    # the largest schema.
    for _ in range(8):
        OutboxMessageFactory(tenant=other_tenant, body_html=secrets.token_hex(200_000))
    panel = panels(operator_client)["largest"]
    names = [row[0] for row in rows(panel)]
    assert names[0] == "Globex" and "Acme" in names
    sizes = [row[2]["bytes"] for row in panel["rows"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 1_000_000
    with tenant_context(other_tenant):
        from django.contrib.auth import get_user_model

        assert rows(panel)[0][3] == get_user_model().objects.count()


def test_needs_attention_lists_what_an_operator_must_look_at(operator_client, tenant, other_tenant):
    assert rows(panels(operator_client)["attention"]) == []
    services.suspend_tenant(provision("att-susp"), "unpaid")
    lifecycle.delete_tenant(provision("att-gone"))
    Domain.objects.create(
        domain="www.acme-example.test", tenant=tenant, is_primary=False, verification_error="no TXT record"
    )
    TenantExport.objects.create(
        tenant=other_tenant,
        requested_by="o@globex.test",
        requested_via="operator",
        status="failed",
        error="disk full",
    )
    TenantExport.objects.create(
        tenant=other_tenant,
        requested_by="o@globex.test",
        requested_via="operator",
        status="failed",
        error="last month",
    )
    TenantExport.objects.filter(error="last month").update(created_at=timezone.now() - timedelta(days=8))
    OutboxMessageFactory(tenant=tenant, status="failed")
    OutboxMessageFactory(tenant=tenant, status="bounced")
    page = operator_client.get("/admin/")
    shown = rows({panel["id"]: panel for panel in page.context["panels"]}["attention"])
    assert sorted(shown) == sorted(
        [
            ["Suspended", "att-susp", ""],
            ["Deleted, awaiting purge", "att-gone", ""],
            ["Domain failing verification", "acme", "no TXT record"],
            ["Export failed", "globex", "disk full"],
            ["Failed emails, last 24 h", "acme", "2 failed"],
        ]
    )
    content = page.content.decode()
    assert f'href="/admin/tenants/tenant/{Tenant.objects.get(slug="att-susp").pk}/change/"' in content


def test_the_dashboard_keeps_the_platform_activity_link(operator_client):
    page = operator_client.get("/admin/").content.decode()
    assert 'id="platform-links"' in page and 'href="/admin/activity/"' in page


def test_tenants_come_first_in_the_sidebar_and_security_tables_last(operator_client):
    groups = operator_client.get("/admin/").context["sidebar_navigation"]
    titles = [group["title"] for group in groups]
    assert titles[0] == "Platform" and titles[-1] == "Security"
    platform = [item["title"] for item in groups[0]["items"]]
    assert platform[:3] == ["Dashboard", "Tenants", "Domains"] and "Platform activity" in platform
    security = {item["link"] for item in groups[-1]["items"]}
    assert {"/admin/auth/group/", "/admin/axes/accessattempt/", "/admin/axes/accesslog/"} <= security


def test_the_dashboard_costs_the_same_queries_for_3_and_30_tenants(
    operator_client, tenant, other_tenant, django_assert_num_queries, django_assert_max_num_queries
):
    provision("flat-0")
    OutboxMessageFactory(tenant=tenant, status="failed")
    assert Tenant.objects.count() == 3
    operator_client.get("/admin/")  # the session's and the sidebar's lookups, warmed
    with django_assert_max_num_queries(200) as few:
        panels(operator_client)
    for n in range(1, 28):
        provision(f"flat-{n}")
    assert Tenant.objects.count() == 30
    with django_assert_num_queries(len(few)):
        panels(operator_client)


def test_only_operators_see_the_dashboard(root_client, tenant, make_user, web, owner):
    # Signed out: the sign-in page; a tenant's owner has no account on the root domain.
    response = root_client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not sign_in(root_client, owner.email)
    assert root_client.get("/admin/").status_code == 302
    # A staff account of the public schema that is not active is no operator either.
    make_user("former@platform.test", None, is_staff=True, is_active=False)
    assert not sign_in(root_client, "former@platform.test")


def test_every_link_of_the_dashboard_opens(operator_client, tenant):
    services.suspend_tenant(provision("link-susp"), "unpaid")
    Domain.objects.create(domain="www.link-example.test", tenant=tenant, verification_error="no TXT record")
    TenantExport.objects.create(
        tenant=tenant, requested_by="o@acme.test", requested_via="operator", status="failed"
    )
    OutboxMessageFactory(tenant=tenant, status="failed")
    links = [
        cell["url"]
        for panel in panels(operator_client).values()
        for row in panel["rows"]
        for cell in row
        if isinstance(cell, dict) and "url" in cell
    ]
    assert len(links) >= 6
    for link in links:
        assert operator_client.get(link).status_code == 200, link
