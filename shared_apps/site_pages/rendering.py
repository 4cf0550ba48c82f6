"""The home, rendered by a view other than Wagtail's page serving: the workspace finder's forms
come back to it with their errors (status 400)."""

from django.template.response import TemplateResponse
from wagtail.models import Site

from shared_apps.site_pages.models import HomePage, embedded_forms


def home_page(request) -> HomePage:
    """The root domain's home page; before any is seeded, an unsaved one with a plain title, so
    the forms still have a page around them."""
    site = Site.find_for_request(request)
    page = site.root_page.specific if site else None
    return page if isinstance(page, HomePage) else HomePage(title="Platform")


def render_home(request, *, status=200, **forms) -> TemplateResponse:
    """The home with ``forms`` (``address_form``, ``find_form``) in place of the empty ones."""
    page = home_page(request)
    context = {**page.get_context(request), **embedded_forms(**forms)}
    return TemplateResponse(request, page.get_template(request), context, status=status)
