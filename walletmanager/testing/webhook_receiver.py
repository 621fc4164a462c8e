"""A webhook receiver for tests: real HTTP(S) servers on 127.0.0.1, no mocked network.

``webhook_receiver`` answers 200 to every POST and keeps what it received::

    def test_delivery(webhook_receiver):
        webhook_receiver.respond(500, 500, 200)   # two failures, then success from then on
        ...  # deliver to webhook_receiver.url
        (headers, body), = webhook_receiver.wait_for(1)
        assert webhook_receiver.requests[0].verify(secret)["type"] == "transaction.posted"

``tls_webhook_receiver`` is the same over https, with a certificate for ``localhost`` that
``ssl.create_default_context()`` trusts for the test's duration. Sending to either needs
``allow_private=True`` (or ``WEBHOOK_ALLOW_PRIVATE_URLS``): 127.0.0.1 is not a public address.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from standardwebhooks import Webhook


class ReceivedRequest(NamedTuple):
    """One POST as the receiver saw it; header names in lower case."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str) -> Any:
        """The payload, as a receiver using the ``standardwebhooks`` library gets it; raises
        ``WebhookVerificationError`` when the signature does not hold."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class WebhookReceiver:
    """A server that records each POST and answers from a script (see ``respond``)."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.requests: list[ReceivedRequest] = []
        self._replies: deque[Reply] = deque([Reply()])
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        if tls is not None:
            # The handshake happens on the first read, in the request's thread, not in the accept loop.
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self.port: int = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def respond(
        self, *statuses: int, body: bytes = b"ok", headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """Answer the next requests with ``statuses`` in turn, the last one for every request after
        (``respond(500, 500, 200)``: two failures, then success). ``delay`` seconds pass before each
        answer: longer than the sender's timeout, it makes one."""
        replies = [Reply(status, body, dict(headers or {}), delay) for status in statuses or (200,)]
        with self._lock:
            self._replies = deque(replies)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The requests once at least ``count`` arrived (for deliveries sent from other threads)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"the receiver got {len(self.requests)} requests, not {count}, in {timeout} s")
            return list(self.requests)

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _receive(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()
            return self._replies[0] if len(self._replies) == 1 else self._replies.popleft()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exception(), ssl.SSLError):
            super().handle_error(request, client_address)  # a handshake the sender refused is a test's point


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver: WebhookReceiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = receiver._receive(ReceivedRequest({name.lower(): value for name, value in self.headers.items()}, body))
        if reply.delay and receiver._closing.wait(reply.delay):
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting (a timeout test): nobody is left to answer

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean
