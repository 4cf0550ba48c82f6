"""The emails of the accounts app, one small function each, all sent through ``send``.

Templates live in ``templates/accounts/emails/<name>/`` as ``subject.txt``, ``body.txt`` and
``body.html``; every email has the text part. They are branded with the tenant whose schema the
connection is in. ``send`` is the only place that talks to Django's mail API: moving to the
transactional outbox is a change of that one function.
"""

from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string


def _sender(tenant) -> str:
    name = getattr(tenant, "email_from_name", "") or getattr(tenant, "name", "")
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    return formataddr((name, address)) if name else address


def send(name: str, to: str, context: dict) -> None:
    """Render ``accounts/emails/<name>/`` with ``context`` (plus ``tenant``) and send it to ``to``."""
    tenant = connection.tenant
    context = {"tenant": tenant, **context}
    folder = f"accounts/emails/{name}"
    subject = " ".join(render_to_string(f"{folder}/subject.txt", context).split())
    text = render_to_string(f"{folder}/body.txt", context)
    html = render_to_string(f"{folder}/body.html", context)
    reply_to = getattr(tenant, "email_reply_to", "")
    message = EmailMultiAlternatives(
        subject, text, _sender(tenant), [to], reply_to=[reply_to] if reply_to else None
    )
    message.attach_alternative(html, "text/html")
    message.send()


def password_reset(user, link: str) -> None:
    send(
        "password_reset",
        user.email,
        {"user": user, "link": link, "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
    )


def invitation(invitation, link: str) -> None:
    send(
        "invitation",
        invitation.email,
        {"invitation": invitation, "link": link, "inviter": invitation.invited_by},
    )
