"""Take the one-time links out of the account emails stored before sensitive rows existed.

Their bodies held password-reset, set-password and invitation links in clear, readable by owners
and admins in the tenant admin. Each link becomes a placeholder (tenant_apps.outbox.sensitive);
a row that has yet to leave keeps the link as its secret, so it is still delivered; any other row
loses it for good (and cannot be renewed: it predates renewals).
"""

import re
import secrets

from django.db import migrations

TEMPLATES = ["accounts/password_reset", "accounts/invitation", "accounts/owner_welcome"]
LINK = re.compile(r"https?://[^\s\"'<>]+/accounts/(?:reset|invitations)/[^\s\"'<>]+")
UNSENT = ("queued", "sending")


def hide_links(apps, schema_editor):
    OutboxMessage = apps.get_model("outbox", "OutboxMessage")
    for message in OutboxMessage.objects.filter(template__in=TEMPLATES, sensitive=False).iterator():
        links = list(dict.fromkeys(LINK.findall(message.body_text) + LINK.findall(message.body_html)))
        if not links:
            continue
        nonce = secrets.token_hex(6)
        placeholders = {link: f"[[secret:link{n or ''}:{nonce}]]" for n, link in enumerate(links)}
        for link, placeholder in placeholders.items():
            message.body_text = message.body_text.replace(link, placeholder)
            message.body_html = message.body_html.replace(link, placeholder)
        message.sensitive = True
        message.secret_values = (
            {placeholder: link for link, placeholder in placeholders.items()}
            if message.status in UNSENT
            else {}
        )
        message.save(update_fields=["body_text", "body_html", "sensitive", "secret_values"])


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0003_outboxmessage_secrets"),
    ]

    # Backwards, the links stay hidden: they cannot, and must not, be put back.
    operations = [migrations.RunPython(hide_links, migrations.RunPython.noop)]
