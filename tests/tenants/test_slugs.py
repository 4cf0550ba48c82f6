import pytest
from django.core.exceptions import ValidationError

from tenants.slugs import RESERVED_SLUGS, schema_name_for, validate_slug


@pytest.mark.parametrize("slug", ["acme", "a1b", "acme-co", "x" * 40, "big-corp-2"])
def test_a_good_slug_is_accepted(slug):
    validate_slug(slug)


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("", "required"),
        ("ab", "length"),
        ("x" * 41, "length"),
        ("Acme", "lowercase"),
        ("1acme", "start"),
        ("-acme", "start"),
        ("acme_co", "characters"),
        ("acme.co", "characters"),
        ("acme co", "characters"),
        ("acmé", "characters"),
        ("acme-", "hyphens"),
        ("ac--me", "hyphens"),
        ("pg-catalog", "reserved"),
    ],
)
def test_a_bad_slug_is_refused_with_its_reason(slug, reason):
    with pytest.raises(ValidationError) as excinfo:
        validate_slug(slug)
    assert excinfo.value.code == reason


@pytest.mark.parametrize(
    "slug", ["www", "admin", "api", "app", "mail", "static", "media", "public", "status", "help"]
)
def test_reserved_words_are_refused(slug):
    assert slug in RESERVED_SLUGS
    with pytest.raises(ValidationError, match="reserved"):
        validate_slug(slug)


def test_the_schema_name_is_the_slug_with_underscores():
    assert schema_name_for("acme-co") == "acme_co"
