"""The root domain's pages, served by Wagtail: the home with its three forms, pricing, docs and the
changelog, as seeded (shared_apps/site_pages/seed.py); none of them on a tenant's host."""

import pytest
from django.conf import settings
from django.db import connection

from shared_apps.site_pages.models import ContentPage, HomePage
from shared_apps.site_pages.seed import HOME_TITLE, seed_site_pages
from tests.conftest import host_client

pytestmark = pytest.mark.django_db

SENT_PAGE = b"Check your inbox"


def test_the_home_is_the_seeded_page_with_the_sign_in_find_and_signup_forms(root_client, settings):
    settings.SIGNUP_ENABLED = True
    response = root_client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<h1 id="what">{HOME_TITLE}</h1>' in page
    assert "Its own subdomain" in page and "A REST API" in page
    # Each form posts to its own view, rendered by the crispy pack (one wrapper per field).
    assert 'action="/workspace/sign-in/"' in page and 'action="/workspace/find/"' in page
    assert 'action="/signup/"' in page
    assert '<label for="id_slug">Workspace address</label>' in page
    assert '<label for="id_email">Your email address</label>' in page
    # The signup form's ids are its own, so no label points at another form's field.
    assert '<label for="id_signup_slug">Workspace address</label>' in page
    assert 'id="div_id_signup_company_name"' in page
    # The site's pages in the navigation.
    for path in ("/pricing/", "/docs/", "/changelog/"):
        assert f'href="{path}"' in page


def test_without_signup_the_home_has_no_signup_form(root_client, settings):
    settings.SIGNUP_ENABLED = False
    page = root_client.get("/").content.decode()
    assert 'action="/signup/"' not in page and "id_signup_" not in page
    assert 'action="/workspace/find/"' in page


def test_pricing_lists_every_plan_with_its_limits(root_client):
    page = root_client.get("/pricing/").content.decode()
    for plan in settings.TENANT_PLANS:
        assert f"<h3>{plan.capitalize()}</h3>" in page
    # free: 5 users, 10 projects, 100 MB; team: 2 GB; unlimited: no limit.
    assert "<dd>100 MB</dd>" in page and "<dd>2 GB</dd>" in page and "<dd>No limit</dd>" in page


def test_docs_link_each_topic_to_its_section_and_the_changelog_lists_releases(root_client):
    docs = root_client.get("/docs/").content.decode()
    for topic in ("signing-in", "two-factor-sign-in", "the-rest-api", "plans-and-limits", "custom-domains"):
        assert f'href="#{topic}"' in docs and f'id="{topic}"' in docs
    changelog = root_client.get("/changelog/").content.decode()
    assert "Pages edited by operators" in changelog and '<time datetime="2026-11-24">' in changelog


def test_the_find_form_from_the_home_answers_as_before(root_client):
    assert SENT_PAGE in root_client.post("/workspace/find/", {"email": "someone@example.test"}).content
    refused = root_client.post("/workspace/find/", {"email": "not an address"})
    # The refusal is the home itself, the error beside the field.
    assert refused.status_code == 400
    page = refused.content.decode()
    assert HOME_TITLE in page and 'id="id_email_error"' in page and 'aria-invalid="true"' in page


def test_an_unknown_workspace_address_comes_back_to_the_home_with_its_error(root_client, tenant):
    refused = root_client.get("/workspace/sign-in/", {"slug": "nosuch"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert HOME_TITLE in page and f"There is no workspace at nosuch.{settings.BASE_DOMAIN}." in page
    assert root_client.get("/workspace/sign-in/", {"slug": "acme"})["Location"] == tenant.url(
        "/accounts/sign-in/"
    )


def test_pages_are_read_only(root_client):
    for path in ("/", "/pricing/"):
        assert root_client.post(path).status_code == 405
        assert root_client.head(path).status_code == 200


def test_the_pages_are_not_served_on_a_tenants_host(tenant, site_pages):
    client = host_client(tenant.primary_host)
    for path in ("/pricing/", "/docs/", "/changelog/"):
        assert client.get(path).status_code == 404, path
    assert HOME_TITLE.encode() not in client.get("/", follow=True).content


def test_seeding_again_keeps_an_operators_edits_and_adds_nothing(site_pages):
    connection.set_schema_to_public()
    home = HomePage.objects.get()
    home.title = "Edited by an operator"
    home.save_revision().publish()
    pricing = ContentPage.objects.get(slug="pricing")
    pricing.delete()  # an operator may remove a page: seeding puts the starting one back

    site = seed_site_pages()

    assert HomePage.objects.get().title == "Edited by an operator"
    assert sorted(ContentPage.objects.values_list("slug", flat=True)) == ["changelog", "docs", "pricing"]
    assert site.hostname == settings.BASE_DOMAIN and site.is_default_site
    assert site.root_page.specific == HomePage.objects.get()
