"""A fake GitHub REST API for the actor gate: a real HTTP server on 127.0.0.1.

It answers `GET /repos/{owner}/{repo}/collaborators/{login}/permission` from a table of
login -> role (the JSON GitHub sends: `permission` is the legacy level, where maintain reads
`write` and triage reads `read`; `role_name` the real role), or with a scripted status for a
login in `failures`; unknown logins get GitHub's 404. Every request is recorded (path and
headers), so a test can say that none was made, or which token came with it.
Under act the test's own server is used: act runs the job on this machine.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
PREFIX = "/repos/"
SUFFIX = "/permission"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]


@dataclass
class FakeGitHub:
    roles: dict[str, str] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    # The legacy `permission` of a login whose role is custom (GitHub sends the role's base level).
    base_levels: dict[str, str] = field(default_factory=dict)
    repository: str = "octo/repo"
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        """(status, JSON body); a scripted 3xx also gets a Location on this server (see do_GET)."""
        owner_repo, _, rest = path.removeprefix(PREFIX).partition("/collaborators/")
        login = rest.removesuffix(SUFFIX)
        if not path.startswith(PREFIX) or not path.endswith(SUFFIX) or owner_repo != self.repository:
            return 404, {"message": "Not Found"}
        if login in self.failures:
            return self.failures[login], {"message": "scripted failure"}
        if login not in self.roles:
            return 404, {"message": "Not Found"}
        role = self.roles[login]
        level = self.base_levels.get(login) or LEGACY.get(role, "read")
        return 200, {"permission": level, "role_name": role, "user": {"login": login}}


def _handler(github: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            github.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}))
            status, body = github.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            if 300 <= status < 400:  # a redirect a client with the token must not follow
                self.send_header("Location", f"{github.url}/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve(github: FakeGitHub) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(github))
    server.daemon_threads = True
    github.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
