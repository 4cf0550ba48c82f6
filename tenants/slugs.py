"""What a tenant slug may be. The slug is the subdomain and, with hyphens as underscores, the
PostgreSQL schema name, so a bad one must be refused here, with a reason, before either exists."""

import re

from django.core.exceptions import ValidationError

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{2,39}$")

# Names a tenant may not take: our own hosts, common infrastructure names, and PostgreSQL's.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "admin",
        "api",
        "app",
        "mail",
        "email",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "static",
        "media",
        "assets",
        "cdn",
        "public",
        "status",
        "help",
        "support",
        "docs",
        "blog",
        "dev",
        "staging",
        "test",
        "beta",
        "demo",
        "root",
        "system",
        "operator",
        "billing",
        "account",
        "accounts",
        "auth",
        "login",
        "signup",
        "register",
        "dashboard",
        "internal",
        "webhooks",
        "information-schema",
        "postgres",
        "template0",
        "template1",
    }
)


def validate_slug(slug: str) -> None:
    """Raise ValidationError with a message a person can act on."""
    if not isinstance(slug, str) or not slug:
        raise ValidationError("A slug is required.", code="required")
    if slug != slug.lower():
        raise ValidationError("Use lowercase letters only.", code="lowercase")
    if len(slug) < 3 or len(slug) > 40:
        raise ValidationError("A slug is 3 to 40 characters long.", code="length")
    if slug[0].isdigit() or slug[0] == "-":
        raise ValidationError("A slug must start with a letter.", code="start")
    if not SLUG_RE.match(slug):
        raise ValidationError("Use only lowercase letters, digits and hyphens.", code="characters")
    if slug.endswith("-") or "--" in slug:
        raise ValidationError("A slug cannot end with a hyphen or contain two in a row.", code="hyphens")
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError(f"'{slug}' is reserved; choose another name.", code="reserved")


def schema_name_for(slug: str) -> str:
    # Slugs have no underscores, so mapping hyphens to underscores never makes two slugs collide.
    return slug.replace("-", "_")
