"""A git server that checks a token: git's own `git http-backend` (CGI) behind a small threaded
HTTP server on 127.0.0.1, like a forge's smart-HTTP endpoint.

Every request needs `Authorization: Basic base64(user:token)`; without a known credential the
answer is 401 with `WWW-Authenticate: Basic` (git then tries what else it has: credentials in
the URL, a helper, a prompt). Two kinds of credential, as on GitLab:

* readers (e.g. `gitlab-ci-token:<job token>`, the credential GitLab's runner puts into the
  checkout's origin URL) may clone and fetch;
* writers (e.g. `oauth2:<project access token>`) may also push.

A reader that tries to push gets 403. Only authenticated requests reach http-backend, and only
those carry REMOTE_USER, which http-backend requires before it accepts a push at all. Every
request is recorded (`server.requests`) with the user it was let in as.

Used as a pytest plugin (`pytest_plugins` in tests/conftest.py): the `git_server` fixture
starts a server with an empty bare repository `project.git` and stops it at teardown; it skips
when git has no http-backend.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

REPO_NAME = "project.git"


def http_backend() -> Path | None:
    """git's http-backend program, or None when this git has none."""
    git = shutil.which("git")
    if git is None:
        return None
    proc = subprocess.run([git, "--exec-path"], capture_output=True, text=True, check=False)
    backend = Path(proc.stdout.strip()) / "git-http-backend"
    return backend if proc.returncode == 0 and os.access(backend, os.X_OK) else None


def basic(user: str, token: str) -> str:
    """The value of an HTTP basic Authorization header."""
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode("ascii")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    service: str  # git-upload-pack (read) or git-receive-pack (write)
    user: str | None  # the credential's user it was let in as; None when refused
    status: int
    chunked: bool = False  # the body came in chunks (git does that for a body over http.postBuffer)

    @property
    def is_push(self) -> bool:
        return self.service == "git-receive-pack"


@dataclass
class GitServer:
    root: Path  # GIT_PROJECT_ROOT: the bare repositories live here
    readers: dict[str, str] = field(default_factory=dict)  # user → token
    writers: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        backend = http_backend()
        if backend is None:
            raise RuntimeError("git has no http-backend (git --exec-path)/git-http-backend")
        self.backend = backend
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- the repository

    @property
    def bare(self) -> Path:
        return self.root / REPO_NAME

    def url(self, user: str | None = None, token: str | None = None) -> str:
        """The repository's URL, with `user:token@` in it when given (GitLab's checkout URL)."""
        assert self._server is not None, "the git server is not started"
        host, port = self._server.server_address[:2]
        auth = f"{quote(user, safe='')}:{quote(token or '', safe='')}@" if user else ""
        return f"http://{auth}{host!s}:{port}/{REPO_NAME}"

    def git(self, *args: str) -> str:
        """Run git in the bare repository (what the server holds, read directly from disk)."""
        proc = subprocess.run(["git", *args], cwd=self.bare, capture_output=True, text=True, check=True)
        return proc.stdout.strip()

    def pushes(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.is_push and r.method == "POST"]

    # -- life cycle

    def start(self) -> GitServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- used by the handler

    def _who(self, authorization: str, write: bool) -> tuple[str | None, int]:
        """(user, 0) when let in; (None, 401) for an unknown credential, (None, 403) for a reader's push."""
        scheme, _, credential = authorization.strip().partition(" ")
        if scheme.lower() != "basic":  # the scheme is case-insensitive (git's extraheader says `basic`)
            return None, 401
        given = basic(*_split(credential.strip()))
        for user, token in self.writers.items():
            if given == basic(user, token):
                return user, 0
        for user, token in self.readers.items():
            if given == basic(user, token):
                return (None, 403) if write else (user, 0)
        return None, 401

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _split(credential: str) -> tuple[str, str]:
    try:
        user, _, token = base64.b64decode(credential, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return user, token


class _Handler(BaseHTTPRequestHandler):
    owner: GitServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
        service = query.get("service") or parts.path.rsplit("/", 1)[-1]
        write = service == "git-receive-pack"
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        body = self._body(chunked)
        user, refusal = self.owner._who(self.headers.get("Authorization", ""), write)
        if refusal:
            self.owner._record(Request(self.command, parts.path, service, None, refusal, chunked))
            self._reply(refusal, {"WWW-Authenticate": 'Basic realm="bassi test git"'}, b"denied\n")
            return
        assert user is not None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.owner.root),
        }
        proc = subprocess.run([str(self.owner.backend)], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        if proc.returncode != 0 and not proc.stdout:
            status, payload = 500, proc.stderr
        self.owner._record(Request(self.command, parts.path, service, user, status, chunked))
        self._reply(status, headers, payload)

    def _body(self, chunked: bool) -> bytes:
        if self.command != "POST":
            return b""
        if chunked:
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    """A started token-checking git server with an empty bare repository (branch main); add
    credentials to its `readers`/`writers` before use."""
    if http_backend() is None:
        pytest.skip("git has no http-backend (git --exec-path)/git-http-backend; install git's full package")
    root = tmp_path / "git-server"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(root / REPO_NAME)], check=True)
    server = GitServer(root).start()
    try:
        yield server
    finally:
        server.stop()
