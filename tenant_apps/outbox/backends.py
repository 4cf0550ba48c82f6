"""Email backends of the outbox: anymail's, plus what anymail leaves out.

- ``ResendEmailBackend``: Resend de-duplicates submissions carrying the same ``Idempotency-Key``
  HTTP header (for 24 hours), which anymail does not set; this backend sets it from the message's
  ``metadata["dedup_key"]`` (see ``sending.build_email``). The other supported providers have no
  such key on their send APIs.
- ``PostmarkEmailBackend``: anymail's Postmark backend plus ``send_batch``, many different emails
  in one call to Postmark's ``/email/batch`` (up to 500 per call). anymail posts to that endpoint
  only for one email sent to many recipients with merge data; each outbox row has bodies of its
  own, and anymail's ``send_messages`` makes one HTTP request per email. Each email's JSON is still
  built by anymail's payload (headers, metadata, tags, alternatives, attachments), and each answer
  of the batch is read by anymail's own Postmark parser, so an email of a batch ends with the same
  ``anymail_status`` (or the same exception) as if it had been sent alone.

The outbox asks a backend for ``send_batch`` (``sending.submit``); backends without it get one
``send()`` per email on the same connection.
"""

import json

import requests
from anymail.backends import postmark, resend
from anymail.exceptions import AnymailError, AnymailRequestsAPIError
from anymail.message import AnymailStatus


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


class _BatchEntry:
    """One answer of a ``/email/batch`` response, read by anymail as if it were a whole response:
    its JSON is the entry alone (so an error quotes this email's answer, not its neighbours')."""

    def __init__(self, response, entry):
        self._response = response
        self._entry = entry
        self.text = json.dumps(entry)
        self.content = self.text.encode()

    def json(self):
        return self._entry

    def __getattr__(self, name):  # status_code, headers, reason, request: the batch's
        return getattr(self._response, name)


class PostmarkEmailBackend(postmark.EmailBackend):
    """anymail's Postmark backend, plus ``send_batch`` (see the module's docstring)."""

    BATCH_LIMIT = 500  # Postmark's maximum number of messages per /email/batch call

    def send_batch(self, messages) -> list[BaseException | None]:
        """Submit ``messages`` in as few calls as Postmark allows. Returns, for each message in
        order, None when Postmark accepted it (its ``anymail_status`` is set, as ``send()`` sets
        it) or the exception ``send()`` would have raised for it. A failed call (network, 5xx,
        429, 401) is that call's exception for each of its messages."""
        results: list[BaseException | None] = [None] * len(messages)
        batch = []  # (index, message, payload)
        for index, message in enumerate(messages):
            message.anymail_status = AnymailStatus()
            if not self.run_pre_send(message) or not message.recipients():
                continue  # cancelled by a pre_send receiver: as send() does, nothing is sent
            try:
                payload = self.build_message_payload(message, self.send_defaults)
                if payload.get_api_endpoint() != "email":
                    raise AnymailError(
                        "batch sending takes plain emails (no templates, merge data or bulk API)"
                    )
            except Exception as exc:
                results[index] = exc
                continue
            batch.append((index, message, payload))
        self.open()
        for start in range(0, len(batch), self.BATCH_LIMIT):
            chunk = batch[start : start + self.BATCH_LIMIT]
            for index, exc in self._post_batch(chunk):
                results[index] = exc
        return results

    def _post_batch(self, chunk):
        """One POST to /email/batch; yields (index, exception or None) for each message."""
        first_payload = chunk[0][2]
        params = first_payload.get_request_params(self.api_url)
        params["url"] = f"{self.api_url}email/batch"
        params["data"] = first_payload.serialize_json([payload.data for _, _, payload in chunk])
        params.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(**params)
            self.raise_for_status(response, first_payload, chunk[0][1])
            entries = self.deserialize_json_response(response, first_payload, chunk[0][1])
            if not isinstance(entries, list) or len(entries) != len(chunk):
                raise AnymailRequestsAPIError(
                    "Postmark's batch answer does not have one entry per email",
                    response=response,
                    backend=self,
                )
        except AnymailError as exc:  # first: anymail's API error is a requests exception too
            failure = exc
        except requests.RequestException as exc:
            # No answer (refused, reset, timed out): no status code, so a transient error.
            failure = AnymailRequestsAPIError(f"Error posting to {params['url']}: {exc}", backend=self)
        else:
            failure = None
        if failure is not None:
            for index, _, _ in chunk:
                yield index, failure
            return
        for (index, message, payload), entry in zip(chunk, entries, strict=True):
            yield index, self._read_entry(_BatchEntry(response, entry), payload, message)

    def _read_entry(self, response, payload, message) -> BaseException | None:
        """What anymail's ``_send`` does with a response, for one entry of the batch's."""
        try:
            message.anymail_status.esp_response = response
            message.anymail_status.set_recipient_status(
                self.parse_recipient_status(response, payload, message)
            )
            self.run_post_send(message)
            self.raise_for_recipient_status(message.anymail_status, response, payload, message)
        except Exception as exc:
            return exc
        return None
