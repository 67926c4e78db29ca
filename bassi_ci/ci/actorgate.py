"""The action's actor gate: who may make the agent run on events a stranger can trigger.

Anyone with a GitHub account can comment on an issue of a public repository, open one, or
review a pull request; a workflow on such an event that hands the text to the agent would let
strangers spend the repository's API budget and steer an agent that holds its token. So for
the GATED_EVENTS the agent runs only when every person behind the run may write to the
repository (GitHub REST `GET /repos/{owner}/{repo}/collaborators/{login}/permission`, asked
with the workflow's token) or is named in the `allowed-users` input; a bot only when named in
`allowed-bots`. Anything else, and any doubt (GitHub unreachable, a 404 or 5xx, an event
payload without a sender), is `forbidden` (exit 9) before the Messages API is called.

Who is "behind the run": the event payload's `sender` is authoritative, since it is who wrote
the comment or opened the issue the agent is about to read. GITHUB_ACTOR (and, on a re-run,
GITHUB_TRIGGERING_ACTOR) must pass too when they name someone else, so a re-run by a
maintainer never launders a stranger's comment, nor the other way round.

Scheduled, `workflow_dispatch`, `push` and every other event are not gated: only people with
write access (or the repository's own configuration) can start those.

Standard library only (urllib): `bassi ci action-run` must not import the heavy HTTP stack
before the agent runs (tests/test_startup_imports.py).
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bassi_ci.errors import Forbidden, UsageError

GATED_EVENTS = frozenset(
    {"issue_comment", "issues", "pull_request_target", "pull_request_review_comment", "discussion_comment"}
)
WRITE_ROLES = frozenset({"write", "maintain", "admin"})
DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024
BOT_SUFFIX = "[bot]"
# GitHub logins: letters, digits and single hyphens, at most 39 characters.
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")


@dataclass(frozen=True)
class Actor:
    login: str
    is_bot: bool

    @property
    def key(self) -> str:
        """How lists compare it: logins are case-insensitive, and a bot may be named with or without `[bot]`."""
        return login_key(self.login)


@dataclass(frozen=True)
class Allowed:
    """The action's `allowed-users` and `allowed-bots` inputs, as comparable keys."""

    users: frozenset[str] = frozenset()
    bots: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, users: str, bots: str) -> Allowed:
        return cls(frozenset(_logins(users, "allowed-users")), frozenset(_logins(bots, "allowed-bots")))


@dataclass(frozen=True)
class GitHubApi:
    url: str
    repository: str  # owner/name
    token: str


def login_key(login: str) -> str:
    return login.strip().lower().removesuffix(BOT_SUFFIX)


def _logins(text: str, input_name: str) -> Iterable[str]:
    """Logins separated by commas, spaces or newlines; a malformed one is a usage error naming it."""
    for word in re.split(r"[\s,]+", text.strip()):
        if not word:
            continue
        if not LOGIN.fullmatch(word.removesuffix(BOT_SUFFIX)):
            raise UsageError(
                f"{input_name}: {word!r} is not a GitHub login (letters, digits and hyphens, e.g. octocat "
                "or dependabot[bot]); separate logins with commas or newlines"
            )
        yield login_key(word)


def check_actor(environ: Mapping[str, str], allowed: Allowed, token: str) -> str | None:
    """Raise Forbidden unless everyone behind this run may start the agent.

    Returns a line for the step summary saying why the run may go ahead, or None when the
    event is not one that is gated.
    """
    event = environ.get("GITHUB_EVENT_NAME", "").strip()
    if event not in GATED_EVENTS:
        return None
    api = GitHubApi(
        url=(environ.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/"),
        repository=environ.get("GITHUB_REPOSITORY", "").strip(),
        token=token,
    )
    reasons = [_admit(actor, allowed, api, event) for actor in actors_of(environ, event)]
    return f"Actor gate ({event}): " + "; ".join(reasons)


def actors_of(environ: Mapping[str, str], event: str) -> list[Actor]:
    """The payload's sender first, then GITHUB_ACTOR / GITHUB_TRIGGERING_ACTOR when they differ."""
    sender = _sender(environ.get("GITHUB_EVENT_PATH", ""), event)
    actors = [sender]
    for name in ("GITHUB_ACTOR", "GITHUB_TRIGGERING_ACTOR"):
        login = environ.get(name, "").strip()
        if login and login_key(login) not in {actor.key for actor in actors}:
            actors.append(Actor(login, is_bot=login.endswith(BOT_SUFFIX)))
    return actors


def _sender(path: str, event: str) -> Actor:
    """The event payload's `sender`; without one nobody can say who triggered the run, so the gate closes."""
    if not path.strip():
        raise Forbidden(f"the {event} event has no payload (GITHUB_EVENT_PATH is not set), so its sender is unknown")
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, ValueError) as problem:
        raise Forbidden(
            f"cannot read the {event} event payload ({type(problem).__name__}), so its sender is unknown"
        ) from None
    sender = payload.get("sender") if isinstance(payload, dict) else None
    sender = sender if isinstance(sender, dict) else {}
    login = sender.get("login")
    if not isinstance(login, str) or not login.strip():
        raise Forbidden(f"the {event} event payload names no sender (sender.login), so the gate stays closed")
    return Actor(login.strip(), is_bot=sender.get("type") == "Bot" or login.endswith(BOT_SUFFIX))


def _admit(actor: Actor, allowed: Allowed, api: GitHubApi, event: str) -> str:
    """Why `actor` may run the agent; Forbidden (with the reason) when it may not."""
    if actor.is_bot:
        if actor.key in allowed.bots:
            return f"{actor.login} is in allowed-bots"
        raise Forbidden(f"{actor.login} is a bot and not in allowed-bots; the {event} event did not run the agent")
    if actor.key in allowed.users:
        return f"{actor.login} is in allowed-users"
    role = repository_role(api, actor.login)
    if role not in WRITE_ROLES:
        raise Forbidden(
            f"{actor.login} has {role or 'no'} permission on {api.repository}; the agent runs for write, maintain "
            f"or admin (or for logins in allowed-users), so the {event} event did not run it"
        )
    return f"{actor.login} has {role} permission"


def repository_role(api: GitHubApi, login: str) -> str:
    """The actor's role on the repository: `role_name` (admin, maintain, write, triage, read or a
    custom role), or the legacy `permission` (admin, write, read, none) when that is the stronger
    of the two, so a custom role built on write counts as write. Any failure raises Forbidden."""
    document = _get_json(api, f"/repos/{api.repository}/collaborators/{urllib.parse.quote(login, safe='')}/permission")
    role = str(document.get("role_name") or "")
    permission = str(document.get("permission") or "")
    if role not in WRITE_ROLES and permission in WRITE_ROLES:
        return permission
    return role or permission


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would resend the Authorization header to wherever a redirect points; refuse instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get_json(api: GitHubApi, path: str) -> dict[str, Any]:
    if not api.token:
        raise Forbidden("no workflow token to ask GitHub for the actor's permission (github.token is empty)")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", api.repository):
        raise Forbidden(f"GITHUB_REPOSITORY {api.repository!r} is not owner/name, so the permission cannot be asked")
    url = api.url + path
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {api.token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "bassi-ci",
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            body = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as answer:
        raise Forbidden(f"GitHub answered {answer.code} {answer.reason} to GET {url}; {_hint(answer.code)}") from None
    except (OSError, http.client.HTTPException, ValueError) as problem:  # URLError, timeouts, cut connections
        reason = getattr(problem, "reason", None) or type(problem).__name__
        raise Forbidden(f"could not reach GitHub at {api.url} ({reason}); the gate stays closed") from None
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Forbidden(f"GitHub's answer to GET {url} is not a JSON object; the gate stays closed")
    return document


def _hint(code: int) -> str:
    if code == 404:
        return "the login or repository is unknown to GitHub, or the token may not read collaborators"
    if code in (401, 403):
        return "the workflow token may not read collaborators (it needs the metadata: read permission)"
    return "the gate stays closed"
