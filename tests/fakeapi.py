"""A fake Anthropic Messages API: a real HTTP server on 127.0.0.1 that speaks the wire protocol.

Used two ways:

* as a pytest plugin (``pytest_plugins = ["tests.fakeapi"]``): the ``fake_api`` fixture
  starts a server, points ``ANTHROPIC_BASE_URL`` at it, sets ``ANTHROPIC_API_KEY`` to a fake
  key, and stops the server at teardown. Tests queue responses with ``fake_api.enqueue(...)``
  and read what the client sent from ``fake_api.requests``.
* as a process, for end-to-end tests and the CI self-test::

      python -m tests.fakeapi --port 0 --script responses.json [--requests-log FILE]

  The first stdout line is the base URL (``http://127.0.0.1:PORT``); the server runs until
  SIGTERM/SIGINT. The script is a JSON list of responses served in order::

      [{"type": "tool_use", "calls": [["bash", {"command": "echo hi"}]], "text": "optional"},
       {"type": "text", "text": "done", "stop_reason": "end_turn", "usage": {...}},
       {"type": "error", "status": 529, "error_type": "overloaded_error",
        "message": "...", "retry_after_ms": 1},
       {"type": "cut_stream", "after_events": 3},
       {"type": "stream_error", "error_type": "overloaded_error", "message": "Overloaded"},
       {"type": "slow", "seconds": 2.0, "then": {"type": "text", "text": "late"}}]

  ``--requests-log FILE`` appends one JSON line per request received (``{"body": ...}``).

Every call is ``POST /v1/messages``. A body with ``"stream": true`` gets server-sent events
(``message_start``, ``content_block_start``, ``content_block_delta`` with ``text_delta`` or
``input_json_delta``, ``content_block_stop``, ``message_delta``, ``message_stop``) over
chunked transfer encoding, so a connection cut in the middle is a protocol error for the
client, as it would be on the real network. Otherwise the message is one JSON document.

Authentication: a request needs ``x-api-key`` or ``Authorization: Bearer ...`` (any value),
or it gets a 401 ``authentication_error``. A request that finds the queue empty gets a 500
with ``x-should-retry: false`` and a body saying so, so a test that under-queues fails fast.

Usage: unless a response gives ``usage`` explicitly, the server estimates tokens from the
request (about 4 characters of JSON per token) and simulates prompt caching: the part of
the prompt up to the last ``cache_control`` breakpoint is a cache write the first time and
a cache read (for the part cached by the previous request) afterwards; only the tail after
the breakpoint counts as plain ``input_tokens``. The real API's minimum cacheable length
(1,024+ tokens) is not simulated. ``fake_api.usages`` lists what was reported, per message.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

FAKE_API_KEY = "sk-ant-test-fake"
_CHARS_PER_TOKEN = 4
_ids = itertools.count(1)


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True)
class FakeResponse:
    """One scripted answer. Build it with text(), tool_use(), error(), cut_stream(), stream_error() or slow()."""

    kind: str  # "message" | "error" | "cut" | "stream_error" | "slow" | "trickle"
    content: tuple[dict[str, Any], ...] = ()
    stop_reason: str = "end_turn"
    usage: dict[str, int] | None = None
    status: int = 200
    error_type: str = ""
    message: str = ""
    retry_after_ms: int | None = None
    after_events: int = 3
    seconds: float = 0.0
    then: FakeResponse | None = None


def text(text: str, *, stop_reason: str = "end_turn", usage: dict[str, int] | None = None) -> FakeResponse:
    """An assistant message with one text block."""
    return FakeResponse("message", ({"type": "text", "text": text},), stop_reason, usage)


def tool_use(
    *calls: tuple[str, dict[str, Any]], text: str | None = None, usage: dict[str, int] | None = None
) -> FakeResponse:
    """An assistant message that calls tools, e.g. tool_use(("bash", {"command": "ls"}))."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for name, tool_input in calls:
        blocks.append({"type": "tool_use", "id": f"toolu_fake{next(_ids):06d}", "name": name, "input": tool_input})
    return FakeResponse("message", tuple(blocks), "tool_use", usage)


def error(
    status: int,
    *,
    error_type: str = "overloaded_error",
    message: str = "fake API error",
    retry_after_ms: int | None = 1,
) -> FakeResponse:
    """An HTTP error with the API's error body; retry-after-ms keeps client retries fast."""
    return FakeResponse("error", status=status, error_type=error_type, message=message, retry_after_ms=retry_after_ms)


def cut_stream(after_events: int = 3) -> FakeResponse:
    """Start a text answer, then drop the connection after `after_events` SSE events."""
    body = text("This answer is cut off in the middle of the stream and never finishes.")
    return FakeResponse("cut", body.content, after_events=after_events)


def stream_error(error_type: str = "overloaded_error", message: str = "Overloaded") -> FakeResponse:
    """Answer 200, start the stream, then send an SSE `error` event (as the API does when
    it becomes overloaded mid-answer). A non-streaming request gets a plain 529 instead."""
    return FakeResponse("stream_error", status=529, error_type=error_type, message=message)


def slow(seconds: float, then: FakeResponse) -> FakeResponse:
    """Wait `seconds` before answering with `then` (for timeouts)."""
    return FakeResponse("slow", seconds=seconds, then=then)


def trickle(seconds: float, then: FakeResponse) -> FakeResponse:
    """Stream `then` a few bytes at a time, `seconds` apart (a server that never quite stalls)."""
    return FakeResponse("trickle", seconds=seconds, then=then)


def from_script(item: dict[str, Any]) -> FakeResponse:
    """One response of the --script JSON form (see the module docstring)."""
    kind = item.get("type")
    usage = item.get("usage")
    if kind == "text":
        return text(str(item["text"]), stop_reason=item.get("stop_reason", "end_turn"), usage=usage)
    if kind == "tool_use":
        calls = tuple((str(name), dict(args)) for name, args in item["calls"])
        return tool_use(*calls, text=item.get("text"), usage=usage)
    if kind == "error":
        return error(
            int(item["status"]),
            error_type=item.get("error_type", "overloaded_error"),
            message=item.get("message", "fake API error"),
            retry_after_ms=item.get("retry_after_ms", 1),
        )
    if kind == "cut_stream":
        return cut_stream(int(item.get("after_events", 3)))
    if kind == "stream_error":
        return stream_error(item.get("error_type", "overloaded_error"), item.get("message", "Overloaded"))
    if kind == "slow":
        return slow(float(item["seconds"]), from_script(item["then"]))
    raise ValueError(f"unknown fake response type {kind!r} in {item!r}")


# --------------------------------------------------------------------------- server


@dataclass
class RecordedRequest:
    """What the client sent: the JSON body and the headers (lower-case names)."""

    body: dict[str, Any]
    headers: dict[str, str]
    path: str = "/v1/messages"


@dataclass
class _CacheState:
    cached_tokens: int = 0


@dataclass
class FakeMessagesAPI:
    """The server. Use as a context manager, or call start() and stop()."""

    host: str = "127.0.0.1"
    port: int = 0
    requests_log: Path | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    usages: list[dict[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: list[FakeResponse] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._cache = _CacheState()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the fake API is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def enqueue(self, *responses: FakeResponse) -> None:
        """Queue responses, served in order, one per HTTP request."""
        with self._lock:
            self._queue.extend(responses)

    @property
    def pending(self) -> int:
        """How many queued responses have not been served yet."""
        with self._lock:
            return len(self._queue)

    def start(self) -> FakeMessagesAPI:
        api = self

        class Handler(_Handler):
            owner = api

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
        if self.requests_log is not None:
            with self.requests_log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"body": request.body}) + "\n")

    def _next(self) -> FakeResponse | None:
        with self._lock:
            return self._queue.pop(0) if self._queue else None

    def _usage_for(self, body: dict[str, Any], response: FakeResponse) -> dict[str, int]:
        if response.usage is not None:
            usage = {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                **response.usage,
            }
        else:
            total, cacheable = _estimate_prompt(body)
            with self._lock:
                read = min(self._cache.cached_tokens, cacheable) if cacheable else 0
                self._cache.cached_tokens = cacheable
            output = sum(len(json.dumps(block)) for block in response.content) // _CHARS_PER_TOKEN
            usage = {
                "input_tokens": max(total - cacheable, 1),
                "output_tokens": output + 12,
                "cache_creation_input_tokens": cacheable - read,
                "cache_read_input_tokens": read,
            }
        with self._lock:
            self.usages.append(usage)
        return usage


def _estimate_prompt(body: dict[str, Any]) -> tuple[int, int]:
    """(total prompt tokens, tokens up to and including the last cache breakpoint)."""
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    blocks.extend(system if isinstance(system, list) else ([system] if system else []))
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks.extend(content if isinstance(content, list) else [content])
    chars = 0
    cached_chars = 0
    for block in blocks:
        chars += len(json.dumps(block))
        if isinstance(block, dict) and block.get("cache_control"):
            cached_chars = chars
    return chars // _CHARS_PER_TOKEN + 8, cached_chars // _CHARS_PER_TOKEN


class _Handler(BaseHTTPRequestHandler):
    owner: FakeMessagesAPI
    protocol_version = "HTTP/1.1"
    # Small SSE writes otherwise wait ~40 ms for a delayed ACK (Nagle) on every response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def handle(self) -> None:
        # A client that gives up (timeouts, cut streams) is normal here, not an error to print.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_error(400, "invalid_request_error", "body is not JSON", None)
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.owner._record(RecordedRequest(body, headers, self.path))
        if self.path.split("?")[0] != "/v1/messages":
            self._send_error(404, "not_found_error", f"fake API has no {self.path}", None)
            return
        if not headers.get("x-api-key") and not headers.get("authorization", "").startswith("Bearer "):
            self._send_error(401, "authentication_error", "x-api-key header is required", None)
            return
        response = self.owner._next()
        if response is None:
            number = len(self.owner.requests)
            self._send_error(
                500,
                "api_error",
                f"fake API: no response queued for request #{number} (queue more with enqueue())",
                None,
                retry=False,
            )
            return
        self._serve(body, response)

    def _serve(self, body: dict[str, Any], response: FakeResponse) -> None:
        if response.kind == "slow":
            self.owner._stopping.wait(response.seconds)
            assert response.then is not None
            self._serve(body, response.then)
        elif response.kind == "trickle" and body.get("stream"):
            assert response.then is not None
            self._serve_trickle(body, response.then, response.seconds)
        elif response.kind == "error" or (response.kind == "stream_error" and not body.get("stream")):
            self._send_error(response.status, response.error_type, response.message, response.retry_after_ms)
        elif response.kind == "stream_error":
            self._send_stream_error(body, response)
        else:
            message = {
                "id": f"msg_fake{next(_ids):06d}",
                "type": "message",
                "role": "assistant",
                "model": str(body.get("model", "claude-fake")),
                "content": [dict(block) for block in response.content],
                "stop_reason": response.stop_reason,
                "stop_sequence": None,
                "usage": self.owner._usage_for(body, response),
            }
            cut = response.after_events if response.kind == "cut" else None
            if body.get("stream"):
                self._send_events(message, cut)
            else:
                self._send_json(200, message, cut_after=cut)

    def _send_error(
        self, status: int, error_type: str, message: str, retry_after_ms: int | None, *, retry: bool = True
    ) -> None:
        headers = {"request-id": f"req_fake{next(_ids):06d}"}
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        if not retry:
            headers["x-should-retry"] = "false"
        payload = {"type": "error", "error": {"type": error_type, "message": message}}
        self._send_json(status, payload, headers=headers)

    def _send_json(
        self,
        status: int,
        payload: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        cut_after: int | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if cut_after is not None:
                self.wfile.write(data[: len(data) // 2])
                self._drop_connection()
                return
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_events(self, message: dict[str, Any], cut_after: int | None) -> None:
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("request-id", f"req_fake{next(_ids):06d}")
            self.end_headers()
            for number, (event, data) in enumerate(_events(message)):
                if cut_after is not None and number >= cut_after:
                    self._drop_connection()
                    return
                chunk = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _serve_trickle(self, body: dict[str, Any], then: FakeResponse, seconds: float) -> None:
        message = {**_empty_message(body), "content": [dict(b) for b in then.content], "stop_reason": "end_turn"}
        stream = b"".join(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode() for event, data in _events(message))
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for start in range(0, len(stream), 8):
                if self.owner._stopping.wait(seconds):
                    return
                piece = stream[start : start + 8]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_stream_error(self, body: dict[str, Any], response: FakeResponse) -> None:
        start = next(_events(_empty_message(body)))
        failure = {"type": "error", "error": {"type": response.error_type, "message": response.message}}
        try:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for event, data in (start, ("error", failure)):
                chunk = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _drop_connection(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _empty_message(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"msg_fake{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": str(body.get("model", "claude-fake")),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


def _events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The SSE sequence the real API sends for `message`."""
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": 1}
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            for piece in _pieces(block["text"], 12):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
        else:
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {**block, "input": {}},
                },
            )
            for piece in _pieces(json.dumps(block["input"]), 20):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": usage,
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _pieces(value: str, size: int) -> Iterator[str]:
    for start in range(0, len(value), size):
        yield value[start : start + size]


# --------------------------------------------------------------------------- pytest


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesAPI]:
    """A started fake Messages API; ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY point at it."""
    with FakeMessagesAPI() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_API_KEY)
        yield api


# --------------------------------------------------------------------------- process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeapi", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", type=Path, help="JSON list of responses, served in order")
    parser.add_argument("--requests-log", type=Path, help="append one JSON line per request here")
    args = parser.parse_args(argv)
    responses = []
    if args.script is not None:
        responses = [from_script(item) for item in json.loads(args.script.read_text(encoding="utf-8"))]
    api = FakeMessagesAPI(host=args.host, port=args.port, requests_log=args.requests_log)
    api.enqueue(*responses)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with api:
        print(api.base_url, flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
