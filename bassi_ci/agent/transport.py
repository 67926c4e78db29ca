"""How the loop talks to the Messages API: the real SDK, a recorder, and a replayer.

A Transport takes the request parameters and returns the final assistant message as a
plain dict (the SDK's `Message.model_dump()`), streaming text deltas to `on_text`.
Failures are raised as BassiError subclasses:

- RunTimeout (exit 4): the time left (`timeout_s`) ran out.
- ApiError (exit 6): 408/409/429/5xx/529, an `overloaded_error`/`api_error` event in the
  stream, a network failure, or a stream that broke off before `message_stop` — after the
  SDK's own retries and then `retries` more attempts of our own.
- AuthError (exit 7): no credentials, 401/403, and the other 4xx (invalid request,
  unknown model, ...) that no retry can fix.

The anthropic SDK is imported only inside AnthropicTransport, so the CLI starts fast.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bassi_ci.errors import ApiError, AuthError, BassiError, RunTimeout, UsageError
from bassi_ci.fsutil import atomic_write_text

if TYPE_CHECKING:
    import anthropic

RECORDING_FORMAT = "bassi-recording"
RECORDING_VERSION = 1

_RETRYABLE_STATUS = frozenset({408, 409, 429})
_RETRYABLE_ERROR_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})
_NO_KEY = "no API key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the environment, or pass it as a secret in CI"


class Transport(Protocol):
    def stream_message(
        self, params: dict[str, object], timeout_s: float | None, on_text: Callable[[str], None]
    ) -> dict[str, object]: ...


class _DeadlineReached(Exception):
    """Raised by the SDK middleware when no time is left for another HTTP attempt."""


class _StreamBroken(Exception):
    """The stream ended before message_stop."""


class AnthropicTransport:
    """The real Messages API through the anthropic SDK (`client.messages.stream`).

    Credentials and the base URL come from the environment exactly as the SDK reads them
    (ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL, SDK profiles). The SDK
    retries retryable failures `sdk_max_retries` times and honours retry-after; on top of
    that this class retries `retries` more times with exponential back-off (honouring
    retry-after, capped at `backoff_cap_s`), and never sleeps past the deadline.
    """

    def __init__(
        self,
        retries: int = 2,
        sdk_max_retries: int = 2,
        *,
        backoff_s: float = 1.0,
        backoff_cap_s: float = 30.0,
    ) -> None:
        self.retries = retries
        self.sdk_max_retries = sdk_max_retries
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self._client: anthropic.Anthropic | None = None
        self._deadline: float | None = None

    def stream_message(
        self, params: dict[str, object], timeout_s: float | None, on_text: Callable[[str], None]
    ) -> dict[str, object]:
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s
        client = self._get_client()
        attempt = 0
        while True:
            try:
                return self._attempt(client, params, on_text)
            except BassiError:
                raise
            except Exception as failure:  # classified below; unknown errors re-raised
                error, wait_s = self._classify(failure)
                if not _may_retry(error, failure) or attempt >= self.retries:
                    raise error from failure
            attempt += 1
            self._sleep(self._backoff(attempt, wait_s))

    def _get_client(self) -> anthropic.Anthropic:
        if self._client is not None:
            return self._client
        # Lazy (tests/test_startup_imports.py): `execute --help` loads this module; anthropic takes ~2 s.
        import anthropic

        try:
            client = anthropic.Anthropic(max_retries=self.sdk_max_retries, middleware=[self._deadline_middleware])
        except anthropic.CredentialsError as problem:
            raise AuthError(f"{_NO_KEY} ({problem})") from problem
        if client.api_key is None and client.auth_token is None and client.credentials is None:
            raise AuthError(_NO_KEY)
        self._client = client
        return client

    def _deadline_middleware(self, request: Any, call_next: Callable[[Any], Any]) -> Any:
        # Runs once per HTTP attempt inside the SDK's retry loop: each attempt gets only
        # the time left, and no attempt starts after the deadline.
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise _DeadlineReached
            request = request.copy(timeout=remaining)
        try:
            response = call_next(request)
        except Exception:
            # A read timeout at the deadline is the run's timeout: do not let the SDK retry
            # it (no __cause__: the SDK would find the retryable timeout through it).
            if self._deadline is not None and time.monotonic() >= self._deadline - 0.05:
                raise _DeadlineReached from None
            raise
        if self._deadline is not None and response.http_response.status_code >= 400:
            # The SDK would sleep for retry-after before its next attempt: give up now if
            # that sleep alone would pass the deadline.
            wait_s = _retry_after_headers(response.http_response.headers)
            if wait_s is not None and time.monotonic() + wait_s >= self._deadline:
                raise _DeadlineReached
        return response

    def _attempt(
        self, client: anthropic.Anthropic, params: dict[str, object], on_text: Callable[[str], None]
    ) -> dict[str, object]:
        stream_call: Any = client.messages.stream
        finished = False
        with stream_call(**params) as stream, _cut_at(self._deadline, stream.response):
            try:
                for event in stream:
                    if event.type == "text":
                        on_text(event.text)
                    elif event.type == "message_stop":
                        finished = True
                    if self._deadline is not None and time.monotonic() > self._deadline:
                        raise _DeadlineReached
            except Exception:
                # After the deadline a broken stream is the cut made by _cut_at.
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    raise _DeadlineReached from None
                raise
            if not finished:
                raise _StreamBroken("the response stream ended before message_stop")
            message = stream.get_final_message()
        dumped: dict[str, object] = message.model_dump(mode="json", exclude_none=True)
        return dumped

    def _classify(self, failure: Exception) -> tuple[BassiError, float | None]:
        """The BassiError for an SDK/network failure, and the server's retry-after if any."""
        # Lazy (tests/test_startup_imports.py): `execute --help` loads this module; anthropic/httpx2 take ~2 s.
        import anthropic
        import httpx2

        if isinstance(failure, _DeadlineReached) or (
            isinstance(failure, anthropic.APITimeoutError | httpx2.TimeoutException)
            and self._deadline is not None
            and time.monotonic() >= self._deadline - 0.05
        ):
            return RunTimeout("the run's time limit was reached while waiting for the API"), None
        if isinstance(failure, TypeError) and "authentication method" in str(failure):
            return AuthError(_NO_KEY), None
        if isinstance(failure, anthropic.APIStatusError):
            return _status_error(failure), _retry_after(failure)
        if isinstance(failure, anthropic.APIConnectionError | httpx2.TransportError | _StreamBroken):
            return ApiError(f"network error talking to the API: {_describe(failure)}"), None
        raise failure

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.backoff_cap_s)
        base = min(self.backoff_s * 2.0 ** (attempt - 1), self.backoff_cap_s)
        return base * (0.75 + random.random() / 4)

    def _sleep(self, seconds: float) -> None:
        if self._deadline is not None and time.monotonic() + seconds >= self._deadline:
            raise RunTimeout("the run's time limit was reached while waiting to retry the API")
        time.sleep(seconds)


@contextlib.contextmanager
def _cut_at(deadline: float | None, response: Any) -> Iterator[None]:
    """Shut the response's socket down when the deadline passes.

    The read timeout restarts with every chunk, so a server that trickles a few bytes at a
    time never trips it, and the loop only sees the clock between whole events.
    """
    if deadline is None:
        yield
        return
    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _shut_down, (response,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _shut_down(response: Any) -> None:
    # shutdown(), not close(): it wakes the read that is blocked on the socket right now.
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _status_error(failure: Any) -> BassiError:
    status: int = failure.status_code
    error_type = failure.type or ""
    detail = failure.api_message or failure.message
    request_id = f" (request id {failure.request_id})" if failure.request_id else ""
    if status in (401, 403):
        return AuthError(
            f"the API refused the credentials ({status} {error_type}): {detail}{request_id}. "
            "Check ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN."
        )
    if status in _RETRYABLE_STATUS or status >= 500 or error_type in _RETRYABLE_ERROR_TYPES:
        return ApiError(f"the API failed ({status} {error_type}): {detail}{request_id}")
    return AuthError(
        f"the API rejected the request ({status} {error_type}): {detail}{request_id}. "
        "Check the model name and the task's settings."
    )


def _may_retry(error: BassiError, failure: Exception) -> bool:
    """Retry ApiErrors, unless the server said not to (x-should-retry: false)."""
    response = getattr(failure, "response", None)
    if response is not None and response.headers.get("x-should-retry") == "false":
        return False
    return isinstance(error, ApiError)


def _retry_after(failure: Any) -> float | None:
    return _retry_after_headers(failure.response.headers)


def _retry_after_headers(headers: Any) -> float | None:
    """Seconds the server asked to wait (retry-after-ms or retry-after), if it asked."""
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def _describe(failure: Exception) -> str:
    text = str(failure) or type(failure).__name__
    return text if len(text) < 300 else text[:300] + "..."


class RecordingTransport:
    """Wraps another transport and keeps every returned message in a JSON file.

    The file is rewritten atomically after each turn, so it is complete up to the last
    finished turn even if the run is killed. Format:
    {"format": "bassi-recording", "version": 1, "messages": [<message dict>, ...]}.
    `redact` is applied to each message before it is kept (the loop still gets the
    original), so secrets echoed by tools or the model do not reach the file.
    """

    def __init__(self, inner: Transport, path: Path, redact: Callable[[Any], Any] = lambda value: value) -> None:
        self.inner = inner
        self.path = path
        self.redact = redact
        self.messages: list[dict[str, object]] = []

    def stream_message(
        self, params: dict[str, object], timeout_s: float | None, on_text: Callable[[str], None]
    ) -> dict[str, object]:
        message = self.inner.stream_message(params, timeout_s, on_text)
        self.messages.append(self.redact(message))
        document = {"format": RECORDING_FORMAT, "version": RECORDING_VERSION, "messages": self.messages}
        atomic_write_text(self.path, json.dumps(document, indent=1) + "\n")
        return message


class ReplayTransport:
    """Returns the messages of a recording in order: no network, no key.

    The constructor raises UsageError (exit 2) when the file cannot be read or is not a
    recording. A run that asks for more turns than were recorded gets UsageError (exit 2)
    too: the replay does not match this run (a changed prompt, task or tool result).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as problem:
            raise UsageError(f"cannot read the recording {path}: {problem}") from problem
        messages = document.get("messages") if isinstance(document, dict) else document
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise UsageError(f"{path} is not a bassi recording (expected a list of messages)")
        self.messages: list[dict[str, object]] = messages
        self.served = 0

    def stream_message(
        self, params: dict[str, object], timeout_s: float | None, on_text: Callable[[str], None]
    ) -> dict[str, object]:
        if self.served >= len(self.messages):
            raise UsageError(
                f"the recording {self.path} has {len(self.messages)} responses and the run asked "
                f"for response {self.served + 1}: this run differs from the recorded one"
            )
        message = self.messages[self.served]
        self.served += 1
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "text":
                on_text(str(block.get("text", "")))
        return message
