"""Secrets in emails: stored as placeholders, filled in only in the copy handed to the provider.

An email that carries a one-time link (password reset, set-password, invitation) gives whoever
reads it the recipient's rights. So the outbox never stores such a link in the bodies it keeps:
``queue_email(..., secrets={"link": link})`` renders the templates with a placeholder in place of
each secret, and keeps the values in ``OutboxMessage.secret_values`` (shown by no admin, API, log
or export, and wiped when the row reaches ``sent`` or ``failed``). The worker fills the
placeholders in (HTML-escaped in the HTML part) in the email it submits, and nowhere else.

A placeholder carries a random nonce per message, so text that merely looks like one (a user's
name, say) is never replaced by a secret.
"""

import re
import secrets as random_tokens

from django.utils.html import escape

PLACEHOLDER_RE = re.compile(r"\[\[secret:(?P<name>[A-Za-z_][A-Za-z0-9_]{0,49}):[0-9a-f]{12}\]\]")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,49}")


class MissingSecret(Exception):
    """A body names a secret the row no longer has (wiped, or never given): it must not leave."""


def placeholders_for(names) -> dict[str, str]:
    """``{name: placeholder}`` for one message, with a nonce of its own."""
    nonce = random_tokens.token_hex(6)
    return {name: f"[[secret:{name}:{nonce}]]" for name in names}


def fill(text: str, values: dict[str, str], *, html: bool = False) -> str:
    """``text`` with each placeholder replaced by its secret (escaped for HTML when ``html``).
    Raises MissingSecret for a placeholder without a value."""

    def value_of(match):
        try:
            value = values[match.group(0)]
        except KeyError:
            raise MissingSecret(f"the secret {match['name']!r} of this email is gone") from None
        return escape(value) if html else value

    return PLACEHOLDER_RE.sub(value_of, text)


def redact(text: str) -> str:
    """``text`` as anyone but the recipient may read it: each placeholder said in words."""
    return PLACEHOLDER_RE.sub(lambda match: f"[{match['name']}: hidden, sent only to the recipient]", text)


def scrub(text: str, values: dict[str, str]) -> str:
    """``text`` (an error message, say) with any secret value in it replaced by its placeholder."""
    for placeholder, value in values.items():
        if value:
            text = text.replace(value, placeholder).replace(escape(value), placeholder)
    return text
