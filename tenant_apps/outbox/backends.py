"""Email backends that pass the outbox's de-duplication key to providers that honour one.

Resend de-duplicates submissions carrying the same ``Idempotency-Key`` HTTP header (for 24 hours),
which anymail does not set; this backend sets it from the message's ``metadata["dedup_key"]``
(see ``sending.build_email``). The other supported providers have no such key on their send APIs.
"""

from anymail.backends import resend


class ResendPayload(resend.ResendPayload):
    def __init__(self, message, defaults, backend, *args, **kwargs):
        headers = kwargs.pop("headers", {})
        key = (getattr(message, "metadata", None) or {}).get("dedup_key")
        if key:
            headers["Idempotency-Key"] = key
        super().__init__(message, defaults, backend, *args, headers=headers, **kwargs)


class ResendEmailBackend(resend.EmailBackend):
    def build_message_payload(self, message, defaults):
        return ResendPayload(message, defaults, self)
