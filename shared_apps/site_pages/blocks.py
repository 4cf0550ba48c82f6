"""The StreamField blocks of the root site's pages: what an operator can put on a page."""

from django.core.exceptions import BadRequest
from wagtail import blocks


class FeatureBlock(blocks.StructBlock):
    name = blocks.CharBlock(max_length=80)
    text = blocks.TextBlock(max_length=300)

    class Meta:
        icon = "pick"
        template = "site_pages/blocks/feature.html"


class PlanBlock(blocks.StructBlock):
    """One plan of the pricing table. Its limits are words for visitors; the limits a tenant gets
    are settings.TENANT_PLANS (README "Plans and limits"), which an operator keeps in step."""

    name = blocks.CharBlock(max_length=40)
    price = blocks.CharBlock(max_length=40, help_text='e.g. "Free" or "€29 a month"')
    users = blocks.CharBlock(max_length=40)
    projects = blocks.CharBlock(max_length=40)
    storage = blocks.CharBlock(max_length=40)
    note = blocks.TextBlock(required=False, max_length=300)

    class Meta:
        icon = "tag"


class LinkBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=120)
    url = blocks.CharBlock(max_length=300, help_text="A path on this site or a full URL.")
    text = blocks.TextBlock(required=False, max_length=400)

    class Meta:
        icon = "link"


class ReleaseBlock(blocks.StructBlock):
    """One changelog entry."""

    date = blocks.DateBlock()
    title = blocks.CharBlock(max_length=120)
    changes = blocks.RichTextBlock(features=["bold", "italic", "link", "ul", "code"])

    class Meta:
        icon = "date"
        template = "site_pages/blocks/release.html"


RICH_TEXT = ["h2", "h3", "bold", "italic", "link", "ol", "ul", "code", "blockquote"]


def body_blocks():
    """The blocks every page's body offers, in the order the editor lists them."""
    return [
        (
            "heading",
            blocks.CharBlock(
                max_length=120, form_classname="title", template="site_pages/blocks/heading.html"
            ),
        ),
        ("text", blocks.RichTextBlock(features=RICH_TEXT)),
        ("features", blocks.ListBlock(FeatureBlock(), template="site_pages/blocks/features.html")),
        ("plans", blocks.ListBlock(PlanBlock(), template="site_pages/blocks/plans.html")),
        ("links", blocks.ListBlock(LinkBlock(), template="site_pages/blocks/links.html")),
        ("release", ReleaseBlock()),
    ]


class BodyBlock(blocks.StreamBlock):
    """A page's body. Wagtail's editor always posts the stream's ``<name>-count``; a request
    without it, or with one that is not a number, is a 400 here instead of Wagtail's KeyError or
    ValueError (a 500), and nothing is saved (found by tests/security/test_hostile_input.py)."""

    def value_from_datadict(self, data, files, prefix):
        try:
            int(data[f"{prefix}-count"])
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRequest("The page's content was not sent the way the editor sends it.") from exc
        return super().value_from_datadict(data, files, prefix)
