"""Stand-in HTTP servers for checks: small web services on this computer that a learner's code calls instead of
a real one (a vendor's API, a chat webhook, the Civis API), run by the check and read back by it.

Each stand-in is a thread-based HTTP server bound to 127.0.0.1 on a free port: nothing reaches the network,
and two checks running at once never collide. It records every request it gets, with the time it arrived on
the check's own clock (``time.monotonic()``), so a check can grade what the learner's code *did* (how often it
called, how long it waited between calls, what it sent) rather than how the code reads. The check process
runs the stand-in, so its record is trusted: the learner's code only ever sees the HTTP answers.

Use one as a context manager, so it stops when the check ends::

    with FlakyService(fail_first=2, payload={"members": [...]}) as service, WebhookReceiver() as hook:
        monkeypatch.setenv("MEMBERSHIP_API_URL", service.url)
        ...
        assert len(service.calls) == 3

or a :class:`StandIn` with a handler of your own (``handler(request) -> Response``) for anything else.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1_000_000  # bytes a stand-in reads from one request; a bigger body is cut (and marked)


@dataclass
class Request:
    """One request a stand-in received."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() when it arrived
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        """The body as JSON; raises ValueError if it is not JSON."""
        return json.loads(self.text)

    def everything(self) -> str:
        """The whole request as one text (path, query, headers, body): to look for a value that must not be sent."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}?{json.dumps(self.query)}\n{head}\n\n{self.text}"


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode("utf-8"), "application/json"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return self.body, "application/octet-stream"


class _Handler(BaseHTTPRequestHandler):
    server_version = "flowcamp-standin"
    protocol_version = "HTTP/1.1"

    def _serve(self):
        stand_in: StandIn = self.server.stand_in  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(),
                          truncated=length > MAX_BODY)
        try:
            response = stand_in.receive(request)
        except Exception as e:  # noqa: BLE001 - a broken handler answers 500 and the check sees why
            response = Response(500, f"stand-in error: {type(e).__name__}: {e}")
        data, content_type = response.encoded()
        self.send_response(response.status)
        self.send_header("Content-Type", response.headers.get("Content-Type", content_type))
        for name, value in response.headers.items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format, *args):  # noqa: A002 - quiet: the check reads the record, not stderr
        pass


class StandIn:
    """A loopback HTTP server that answers with ``handler(request)`` and records every request."""

    def __init__(self, handler: Callable[[Request], Response] | None = None):
        self._handler = handler
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------- life
    def start(self) -> "StandIn":
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            self._server.daemon_threads = True
            self._server.stand_in = self  # type: ignore[attr-defined]
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"standin-{type(self).__name__}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running: call start() or use it in a with block")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ----------------------------------------------------------------------------- record
    def receive(self, request: Request) -> Response:
        with self._lock:
            self._requests.append(request)
            return self.answer(request, len(self._requests))

    def answer(self, request: Request, number: int) -> Response:
        """The answer to the ``number``-th request (from 1). Override it, or give a handler."""
        return self._handler(request) if self._handler else Response(200, "ok")

    @property
    def calls(self) -> list[Request]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def gaps(self) -> list[float]:
        """Seconds between one request and the next, on the stand-in's clock."""
        times = [r.at for r in self.calls]
        return [b - a for a, b in zip(times, times[1:])]


def bearer_or_key(request: Request) -> str | None:
    """The API key a request carries: ``Authorization: Bearer KEY``, an ``X-API-Key`` header, or ``?api_key=``."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    if request.headers.get("x-api-key"):
        return request.headers["x-api-key"].strip()
    values = request.query.get("api_key") or request.query.get("key")
    return values[0] if values else None


class FlakyService(StandIn):
    """A JSON service that fails its first ``fail_first`` calls (``None``: every call) with ``status``, then
    answers ``payload``. With ``api_key`` set, a call without that key is refused with 401 (and counts)."""

    def __init__(self, payload=None, fail_first: int | None = 0, status: int = 503, api_key: str | None = None):
        super().__init__()
        self.payload = payload if payload is not None else {}
        self.fail_first, self.status, self.api_key = fail_first, status, api_key

    def reset(self, fail_first: int | None = 0, payload=None) -> None:
        """Forget the calls so far and behave anew (the next call is call 1 again)."""
        with self._lock:
            self._requests.clear()
            self.fail_first = fail_first
            if payload is not None:
                self.payload = payload

    def answer(self, request: Request, number: int) -> Response:
        if self.api_key is not None and bearer_or_key(request) != self.api_key:
            return Response(401, {"error": "missing or wrong API key"}, {"WWW-Authenticate": "Bearer"})
        if self.fail_first is None or number <= self.fail_first:
            return Response(self.status, {"error": "the service is busy, try again later"})
        return Response(200, self.payload)


class WebhookReceiver(StandIn):
    """What a chat tool's incoming webhook (Slack, Teams) would be: records each POST and answers 200 ``ok``."""

    def posts(self) -> list[Request]:
        return [r for r in self.calls if r.method == "POST"]

    def answer(self, request: Request, number: int) -> Response:
        return Response(200, "ok")
