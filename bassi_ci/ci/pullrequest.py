"""Open the pull request (GitHub, with `gh`) or merge request (GitLab, with its REST API) for a
branch commit-back pushed.

The body never goes on a command line (other users see argv in `ps`, and it holds the model's
text): `gh` reads it from a private file, GitLab gets it in the request body. GitLab is used
when commit-back runs in a GitLab CI job (GITLAB_CI, CI_PROJECT_ID, CI_API_V4_URL); `glab` is
not used, since it takes a description only on its command line. The token of either is the
push token; everything sent or shown is redacted of it and of every secret variable.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bassi_ci.errors import RunFailed
from bassi_ci.runs.redact import Redactor

GITLAB_TIMEOUT_S = 30
DRAFT_PREFIX = "Draft: "  # GitLab marks a draft merge request by its title


@dataclass(frozen=True)
class Review:
    """A pull/merge request to open from `head` into `base` ("" when HEAD was detached)."""

    head: str
    base: str
    title: str
    body: str
    draft: bool = False  # the work of a run that did not succeed


@dataclass(frozen=True)
class GitlabProject:
    api_url: str  # …/api/v4
    project_id: str
    default_target: str  # the job's branch, else the project's default branch


def open_review(
    root: Path, review: Review, token: str, redactor: Redactor, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(its URL, a note) of the request opened for `review`; RunFailed when the forge refused."""
    env = os.environ if environ is None else environ
    safe = Review(review.head, review.base, redactor.text(review.title), redactor.text(review.body), review.draft)
    project = gitlab_project(env)
    if project is not None:
        return open_merge_request(project, safe, token, redactor)
    return open_pull_request(root, safe, token, env)


def gitlab_project(environ: Mapping[str, str]) -> GitlabProject | None:
    """The GitLab project of the CI job commit-back runs in; None outside GitLab CI."""
    if environ.get("GITLAB_CI", "").strip() != "true" or not environ.get("CI_PROJECT_ID", "").strip():
        return None
    api = environ.get("CI_API_V4_URL", "").strip() or environ.get("CI_SERVER_URL", "").strip().rstrip("/") + "/api/v4"
    target = environ.get("CI_COMMIT_BRANCH", "").strip() or environ.get("CI_DEFAULT_BRANCH", "").strip()
    return GitlabProject(api_url=api.rstrip("/"), project_id=environ["CI_PROJECT_ID"].strip(), default_target=target)


# --- GitHub: gh pr create --body-file ------------------------------------------------------------


def open_pull_request(root: Path, review: Review, token: str, environ: Mapping[str, str]) -> tuple[str, str]:
    argv = ["gh", "pr", "create", "--head", review.head, *(["--base", review.base] if review.base else [])]
    argv += ["--title", review.title, *(["--draft"] if review.draft else [])]
    if shutil.which("gh") is None:
        hint = shlex.join(argv)
        return "", f"pushed branch {review.head}; 'gh' is not installed, so open the pull request yourself: {hint}"
    env = dict(environ)
    if token and not env.get("GH_TOKEN"):
        env["GH_TOKEN"] = token  # this process only; a GH_TOKEN the user set wins
    with _private_file(review.body) as body_file:
        proc = subprocess.run(
            [*argv, "--body-file", str(body_file)], cwd=root, capture_output=True, text=True, check=False, env=env
        )
    if proc.returncode != 0:
        said = (proc.stderr.strip() or proc.stdout.strip())[:500]
        raise RunFailed(f"pushed branch {review.head}, but 'gh pr create' failed: {said}")
    url = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return url, f"opened {'draft ' if review.draft else ''}pull request {url}"


@contextmanager
def _private_file(text: str) -> Iterator[Path]:
    """A temporary file only this user can read (mkstemp's 0600), removed afterwards."""
    fd, name = tempfile.mkstemp(prefix="bassi-pr-body-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


# --- GitLab: POST /projects/:id/merge_requests ---------------------------------------------------


def open_merge_request(project: GitlabProject, review: Review, token: str, redactor: Redactor) -> tuple[str, str]:
    target = review.base or project.default_target
    if not token:
        raise RunFailed(
            f"pushed branch {review.head}, but there is no token to open the merge request with: pass "
            "--push-token-env with a project access token that has the api scope"
        )
    if not target:
        raise RunFailed(f"pushed branch {review.head}, but no target branch is known (set CI_DEFAULT_BRANCH)")
    payload = {
        "source_branch": review.head,
        "target_branch": target,
        "title": (DRAFT_PREFIX if review.draft else "") + review.title,
        "description": review.body,
        "remove_source_branch": False,
    }
    url = f"{project.api_url}/projects/{quote(project.project_id, safe='')}/merge_requests"
    answer = _post_json(url, payload, token, redactor, review.head)
    web_url = str(answer.get("web_url") or "")
    return web_url, f"opened {'draft ' if review.draft else ''}merge request {web_url}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The token header must not follow a redirect to another host: a redirect is an error."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _post_json(url: str, payload: dict[str, object], token: str, redactor: Redactor, head: str) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"PRIVATE-TOKEN": token, "Content-Type": "application/json", "Accept": "application/json"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    failed = f"pushed branch {head}, but GitLab did not open the merge request"
    try:
        with opener.open(request, timeout=GITLAB_TIMEOUT_S) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise RunFailed(f"{failed}: HTTP {error.code} {_gitlab_message(error, redactor)}{_hint(error.code)}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise RunFailed(f"{failed}: {redactor.text(str(getattr(error, 'reason', error)))[:300]}") from None
    return answer if isinstance(answer, dict) else {}


def _gitlab_message(error: urllib.error.HTTPError, redactor: Redactor) -> str:
    try:
        data = json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        data = {}
    message = data.get("message") or data.get("error") if isinstance(data, dict) else None
    return redactor.text(json.dumps(message) if message is not None else str(error.reason))[:300]


def _hint(code: int) -> str:
    if code in (401, 403):
        return " (the push token needs the api scope and at least the Developer role to open merge requests)"
    if code == 409:
        return " (a merge request for this branch is open already)"
    return ""
