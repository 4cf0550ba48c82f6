"""The root domain's pages, edited by operators in Wagtail's admin (/cms/).

``HomePage`` is the site's root (one per Site): what the platform is, with the "sign in to your
workspace", "find my workspace" and signup forms embedded; they post to their own views
(shared_apps/workspace_finder, shared_apps/signup), which keep every rule. ``ContentPage`` is any
page below it: pricing, docs, the changelog. Their tables are in the public schema only.
"""

from django.conf import settings
from django.http import HttpResponseNotAllowed
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from shared_apps.signup.forms import SignupForm
from shared_apps.site_pages.blocks import BodyBlock, body_blocks
from shared_apps.workspace_finder.forms import FindWorkspaceForm, WorkspaceAddressForm

INTRO_FEATURES = ["bold", "italic", "link"]


def embedded_forms(*, address_form=None, find_form=None, signup_form=None) -> dict:
    """The home's forms, unbound unless given (a finder view re-renders the home with its errors).
    Each draws itself with ``{% crispy form %}`` (its ``helper`` says where it posts). The signup
    form's ids are prefixed so its labels never point at the finder's fields; its field names
    stay the signup view's."""
    forms = {
        "address_form": address_form or WorkspaceAddressForm(),
        "find_form": find_form or FindWorkspaceForm(),
        "signup_form": None,
    }
    if settings.SIGNUP_ENABLED:
        forms["signup_form"] = signup_form or SignupForm(auto_id="id_signup_%s")
    return forms


class SitePage(Page):
    """What both page types share: the site's navigation and settings in their context."""

    intro = RichTextField(blank=True, features=INTRO_FEATURES, help_text="The lead under the title.")
    body = StreamField(BodyBlock(body_blocks()), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]

    class Meta:
        abstract = True

    def serve(self, request, *args, **kwargs):
        # Pages are read, never posted to: their forms post to their own views.
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return super().serve(request, *args, **kwargs)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        site = self.get_site() if self.pk else None  # an unsaved stand-in (rendering.py)
        root = site.root_page if site else None
        context.update(
            base_domain=settings.BASE_DOMAIN,
            signup_enabled=settings.SIGNUP_ENABLED,
            menu=root.get_children().live().in_menu().specific() if root else [],
        )
        return context


class HomePage(SitePage):
    template = "site_pages/home_page.html"
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["site_pages.ContentPage"]
    # One home: the root domain's Site points at it.
    max_count = 1

    class Meta:
        verbose_name = "home page"

    def get_context(self, request, *args, **kwargs):
        return {**super().get_context(request, *args, **kwargs), **embedded_forms()}


class ContentPage(SitePage):
    """Pricing, docs, the changelog, or any other page of the root site."""

    template = "site_pages/content_page.html"
    parent_page_types = ["site_pages.HomePage", "site_pages.ContentPage"]
    subpage_types = ["site_pages.ContentPage"]

    class Meta:
        verbose_name = "content page"
