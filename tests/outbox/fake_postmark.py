"""A local HTTP server that speaks enough of Postmark's send API for anymail's real Postmark
backend: POST /email and /email/batch, answering like Postmark, or as scripted.

Used by the outbox tests and by bench/email_throughput.py. ``script("ok", 500, 422, "hang")``
sets the answers to the next requests in order (a batch is one request: a 500 fails all its
emails); once the script runs out every request is accepted. ``refuse(address)`` refuses emails
to an address as Postmark refuses an invalid recipient: a 422 alone, an entry with ErrorCode 300
in a batch whose other emails are accepted. Every email is recorded as a ``Submission`` (path,
headers, its JSON, arrival time, the MessageID given), one per email of a batch.

``script(kill(pid))`` makes a worker die at the worst moment for the outbox: the email is recorded
as accepted (as the real provider would have it), then the process ``pid`` gets SIGKILL before
any answer reaches it, so it can never write the row's status.
"""

import itertools
import json
import os
import signal
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Kill:
    """A scripted answer: accept the email, then SIGKILL ``pid`` instead of answering."""

    pid: int


def kill(pid: int) -> Kill:
    return Kill(pid)


@dataclass
class Submission:
    path: str
    headers: dict
    data: dict | list
    at: float  # time.time() when the request arrived
    answer: str | int = "ok"
    message_id: str | None = None  # set when the answer accepted the email
    accepted_at: float | None = None
    batch_size: int = 1  # emails in the request this one came in (/email/batch: one or more)
    call: int = 0  # the request's number: the emails of one batch share it

    def header(self, name: str) -> str | None:
        """A header of the email (not of the HTTP request), from Postmark's "Headers" list."""
        for item in (self.data.get("Headers") or []) if isinstance(self.data, dict) else []:
            if item["Name"].lower() == name.lower():
                return item["Value"]
        return None

    @property
    def metadata(self) -> dict:
        return self.data.get("Metadata") or {} if isinstance(self.data, dict) else {}


@dataclass
class FakePostmark:
    hang_seconds: float = 3.0
    submissions: list[Submission] = field(default_factory=list)

    def __post_init__(self):
        self._script: deque = deque()
        self._refused: set[str] = set()
        self._calls = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "FakePostmark":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *answers) -> None:
        with self._lock:
            self._script.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self._refused.clear()
            self.submissions.clear()

    def accepted(self) -> list[Submission]:
        return [s for s in list(self.submissions) if s.message_id]

    def _next_answer(self):
        with self._lock:
            return self._script.popleft() if self._script else "ok"

    def refuse(self, *addresses: str) -> None:
        """Answer emails to these addresses as Postmark answers an invalid recipient: 422 alone,
        ErrorCode 300 for that email inside a batch (the batch's others are accepted)."""
        with self._lock:
            self._refused.update(address.lower() for address in addresses)

    def _entry(self, submission: Submission, *, refuse: bool = False) -> dict:
        """Postmark's answer for one email of an accepted request; gives it a MessageID."""
        to = submission.data.get("To", "")
        if refuse or to.lower() in self._refused:
            submission.answer = 422
            return {"ErrorCode": 300, "Message": f"Invalid 'To' address: '{to}'."}
        submission.message_id = str(uuid.uuid4())
        submission.accepted_at = time.time()
        return {
            "To": to,
            "SubmittedAt": "2026-01-01T00:00:00Z",
            "MessageID": submission.message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API
            # One write per response, sent at once: headers and body in separate small writes
            # would meet Nagle's algorithm and the client's delayed ACK (40 ms per request).
            wbufsize = 64 * 1024
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet: tests and the benchmark print their own lines
                pass

            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                data = json.loads(body or b"{}")
                batch = isinstance(data, list)
                answer = fake._next_answer()  # one per request, a batch's too
                call = next(fake._calls)
                submissions = [
                    Submission(
                        path=self.path,
                        headers=dict(self.headers),
                        data=one,
                        at=arrived,
                        answer=answer,
                        batch_size=len(data) if batch else 1,
                        call=call,
                    )
                    for one in (data if batch else [data])
                ]
                with fake._lock:
                    fake.submissions.extend(submissions)
                if self.headers.get("X-Postmark-Server-Token") in (None, ""):
                    return self._reply(401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."})
                if isinstance(answer, Kill):
                    for submission in submissions:
                        fake._entry(submission)
                    os.kill(answer.pid, signal.SIGKILL)
                    self.close_connection = True
                    return None
                if answer == "hang":
                    time.sleep(fake.hang_seconds)
                    answer = "ok"  # if the client still listens, it is accepted late
                refuse_all = answer == 422  # every email of this request refused
                if answer not in ("ok", 422):
                    return self._reply(
                        int(answer), {"ErrorCode": int(answer), "Message": f"Scripted {answer}"}
                    )
                entries = [fake._entry(submission, refuse=refuse_all) for submission in submissions]
                if batch:
                    return self._reply(200, entries)  # Postmark: 200, errors per entry
                return self._reply(422 if entries[0]["ErrorCode"] else 200, entries[0])

            def _reply(self, status, payload):
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): what a hung provider looks like

        return Handler
