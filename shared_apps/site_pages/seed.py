"""The root site's starting pages: home, pricing, docs and changelog, created once.

``seed_site_pages()`` is idempotent: it creates what is missing and never touches a page that
exists, so an operator's edits survive every later run (``manage.py dev`` calls it on each start,
``manage.py seed_site_pages`` in production, the test suite's ``site_pages`` fixture before each
test that reads a page). The Wagtail Site is the root domain (BASE_DOMAIN), the default site.
"""

import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.text import slugify
from wagtail.models import Locale, Page, Site
from wagtail.models.i18n import get_supported_content_language_variant
from wagtail.rich_text import RichText

from shared_apps.site_pages.models import ContentPage, HomePage

HOME_TITLE = "A workspace for every company, on its own address"

FEATURES = [
    ("Its own subdomain", "Your workspace answers at your address; another company's data is never on it."),
    ("Your team", "Invite people as owners, admins or members; each role sees what it should."),
    ("Projects and tasks", "Plan work, assign it, comment, and see what is due."),
    ("A REST API", "Tokens per person, documented at /api/docs/ on your workspace."),
    ("An admin", "Your own admin, with your branding, for the people who run the workspace."),
]

PRICES = {"free": "Free", "team": "On request", "business": "On request", "unlimited": "On request"}
PLAN_NOTES = {
    "free": "Every new workspace starts here.",
    "team": "For a growing team.",
    "business": "Many people, any number of projects.",
    "unlimited": "No limits, for the largest companies.",
}

# The README's topics for a workspace's people, one section each.
DOCS = [
    (
        "Signing in",
        "<p>Each workspace has its own address, <code>&lt;company&gt;.&lt;this domain&gt;</code>, and its "
        "own accounts: an account of one workspace means nothing on another. Forgot the address? "
        '"Find my workspace" on the <a href="/#find">home page</a> emails you the workspaces your address '
        "belongs to.</p>",
    ),
    (
        "Your team and roles",
        "<p>Owners run the workspace (its plan, exports, admins), admins manage people and projects, "
        "members work on the projects they are part of. Owners and admins invite people from the "
        "team page; an invitation is a one-time link by email.</p>",
    ),
    (
        "Two-factor sign-in",
        "<p>Anyone can add an authenticator app from their profile and keep its recovery codes; an "
        "owner can require it of everyone in the workspace.</p>",
    ),
    (
        "Projects and tasks",
        "<p>Projects hold tasks with an assignee, a due date and comments. Assignees and commenters are "
        "notified by email; a daily digest lists what is due.</p>",
    ),
    (
        "The REST API",
        "<p>Every workspace documents its API at <code>/api/docs/</code>. Each person creates their own "
        "tokens from their profile; a token works only on the workspace that issued it.</p>",
    ),
    (
        "Exports",
        "<p>An owner downloads all of the workspace's data as JSON files from the workspace's admin; "
        "the archive is kept for a week.</p>",
    ),
    (
        "Plans and limits",
        "<p>Each plan sets how many users, projects and how much storage a workspace has: see "
        '<a href="/pricing/">Pricing</a>.</p>',
    ),
    (
        "Custom domains",
        "<p>A workspace can answer on its own domain once the domain's DNS shows the verification token "
        "its operator gives.</p>",
    ),
]


def docs_blocks() -> list[tuple]:
    """A list of the topics (each links to its section), then a heading and a text per topic."""
    blocks = [("links", [{"title": title, "url": f"#{slugify(title)}", "text": ""} for title, _ in DOCS])]
    for title, text in DOCS:
        blocks += [("heading", title), ("text", RichText(text))]
    return blocks


RELEASES = [
    (
        datetime.date(2026, 11, 24),
        "Pages edited by operators",
        "<ul><li>The home, pricing, docs and this changelog are pages that operators edit.</li>"
        "<li>Every form has the same markup, with errors next to their fields.</li></ul>",
    ),
    (
        datetime.date(2026, 11, 20),
        "Teams, onboarding and two-factor sign-in",
        "<ul><li>A team page for owners and admins, and a profile for everyone.</li>"
        "<li>Two-factor sign-in with an authenticator app, which a workspace can require.</li>"
        "<li>Find my workspace: the addresses of your workspaces, by email.</li></ul>",
    ),
    (
        datetime.date(2026, 11, 10),
        "Self-service signup",
        "<ul><li>Create a workspace in a minute; you become its owner, signed in.</li>"
        "<li>Plans with limits on users, projects and storage.</li></ul>",
    ),
]


def _limit(value, unit: str = "") -> str:
    if value is None:
        return "No limit"
    if unit == "MB" and value >= 1024:
        return f"{value / 1024:g} GB"
    return f"{value} {unit}".strip()


def plan_blocks() -> list[dict]:
    """The pricing table's plans, from settings.TENANT_PLANS: what a new tenant on each gets."""
    return [
        {
            "name": name.capitalize(),
            "price": PRICES.get(name, "On request"),
            "users": _limit(limits["max_users"]),
            "projects": _limit(limits["max_projects"]),
            "storage": _limit(limits["max_storage_mb"], "MB"),
            "note": PLAN_NOTES.get(name, ""),
        }
        for name, limits in settings.TENANT_PLANS.items()
    ]


def _root() -> Page:
    """Wagtail's tree root (its first migration makes it; a flushed test database has none)."""
    root = Page.get_first_root_node()
    if root is None:
        root = Page.add_root(instance=Page(title="Root", slug="root", locale=_locale()))
    return root


def _locale() -> Locale:
    language = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    return Locale.objects.get_or_create(language_code=language)[0]


def _home(root: Page) -> HomePage:
    home = HomePage.objects.first()
    if home is not None:
        return home
    # Wagtail's own "Welcome to your new Wagtail site!" page holds the slug "home": replaced.
    plain_page = ContentType.objects.get_for_model(Page)
    for welcome in root.get_children().filter(content_type=plain_page, slug="home"):
        if not welcome.get_children().exists():
            welcome.delete()
    root.refresh_from_db()  # treebeard's count of the root's children, after the delete
    home = HomePage(
        title=HOME_TITLE,
        slug="home",
        seo_title="Platform · a workspace for every company",
        intro=(
            "<p>Each client company gets a private workspace at its own address: its own team, "
            "projects and tasks, a REST API and an admin, with its data kept apart from every "
            "other company's.</p>"
        ),
        body=[("features", [{"name": name, "text": text} for name, text in FEATURES])],
    )
    root.add_child(instance=home)
    home.save_revision().publish()
    return home


def _child(home: HomePage, slug: str, title: str, intro: str, body: list) -> ContentPage:
    page = ContentPage.objects.child_of(home).filter(slug=slug).first()
    if page is not None:
        return page
    page = ContentPage(title=title, slug=slug, intro=intro, body=body, show_in_menus=True)
    home.add_child(instance=page)
    page.save_revision().publish()
    return page


def _site(home: HomePage) -> Site:
    site = (
        Site.objects.filter(is_default_site=True).first()
        or Site.objects.filter(hostname=settings.BASE_DOMAIN).first()
    )
    if site is None:
        return Site.objects.create(
            hostname=settings.BASE_DOMAIN, port=80, root_page=home, is_default_site=True, site_name="Platform"
        )
    if not isinstance(site.root_page.specific, HomePage):
        # Wagtail's first migration points its default site at "localhost:80" and the welcome page.
        site.hostname, site.root_page, site.is_default_site, site.site_name = (
            settings.BASE_DOMAIN,
            home,
            True,
            "Platform",
        )
        site.save()
    return site


@transaction.atomic
def seed_site_pages() -> Site:
    """Create the missing starting pages and the root domain's Site; return the Site."""
    home = _home(_root())
    _child(
        home,
        "pricing",
        "Pricing",
        "<p>Every workspace is on a plan; each plan sets how many people, projects and how much "
        "storage it has. Your operator can change your plan at any time.</p>",
        [("plans", plan_blocks())],
    )
    _child(
        home,
        "docs",
        "Docs",
        "<p>How a workspace works: signing in, your team, projects, the API and the rest.</p>",
        docs_blocks(),
    )
    _child(
        home,
        "changelog",
        "Changelog",
        "<p>What changed on the platform, newest first.</p>",
        [
            ("release", {"date": date, "title": title, "changes": changes})
            for date, title, changes in RELEASES
        ],
    )
    return _site(home)
