"""Commit-back: commit the files a CI run changed (only those the task names) and push them.

Rules: only files matching the given path globs are staged; nothing changed means
no commit; a push that lost a race is rebased onto the remote and retried (never
forced); a file that looks like a credential stops everything before any commit.
Credentials for the push never touch .git/config: they reach `git push`/`git fetch`
as GIT_CONFIG_* environment variables of those processes only (see git_config_env).
Imports gitpython, so only the commands that commit import this module.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import git

from bassi_ci.ci.gitstate import GitConfigChanged, check_unchanged
from bassi_ci.ci.prbody import FOOTER
from bassi_ci.ci.pullrequest import Review, open_review
from bassi_ci.ci.request import DEFAULT_SERVER_URL, GITHUB_TOKEN_USER, CommitRequest
from bassi_ci.ci.secretscan import known_secret_values, secret_file_reason
from bassi_ci.errors import RunFailed, UsageError
from bassi_ci.runs.commitpaths import unchanged_note
from bassi_ci.runs.redact import Redactor, secret_values
from bassi_ci.tasks.templating import expand_output_path


class CommitRefused(RunFailed):
    """A file about to be committed looks like it holds a credential."""


class PushFailed(RunFailed):
    """The push did not succeed after every retry."""


@dataclass(frozen=True)
class CommitOutcome:
    sha: str  # "" when there was nothing to commit
    branch: str
    files: tuple[str, ...]
    pull_request_url: str = ""
    note: str = ""
    # The side branch that holds the work of a run that did not succeed (sha is "" then: no
    # commit reached the branch the run was for).
    work_branch: str = ""


def commit_back(request: CommitRequest) -> CommitOutcome:
    """Commit and push the changed files under `request.paths`; see the module docstring.

    With `request.side_branch` (a run that did not succeed) they go to that branch alone."""
    if not request.paths:
        raise UsageError("commit-back needs at least one path or glob (commit-paths)")
    repo = _open_repo(request.repo)
    root = Path(repo.working_tree_dir or request.repo)
    if request.git_state is not None:  # before any git command: `git status` may run filters too
        check_unchanged(request.git_state, root)
        _refuse_changed_settings(repo, root, request.guarded_files)
    push_env = push_config_env(repo, request)  # a bad remote for the token stops us before any change
    paths = expand_paths(request.paths, request.variables, root)
    files = changed_files(repo, paths)
    base = _current_branch(repo)
    target = _target_branch(request, base)
    if not files:
        return CommitOutcome(sha="", branch=target, files=(), note=_nothing_to_commit(repo, paths, request))
    _refuse_secrets(root, files)
    with _bot_identity(repo, request):
        try:
            repo.git.add("--all", "--", *files)
            # --only: commit exactly these paths even if the agent staged something else.
            repo.git.commit("--only", "--no-verify", "-m", request.message, "--", *files)
        except git.GitCommandError as exc:  # e.g. commit.gpgSign without a key: the user's to fix, no crash
            shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
            raise RunFailed(f"git could not commit {shown}: {_git_message(exc)}; nothing was pushed") from None
        _push_with_retry(repo, request, target, push_env)
    return _pushed(root, request, repo.head.commit.hexsha, tuple(files), target, base)


def _pushed(
    root: Path, request: CommitRequest, sha: str, files: tuple[str, ...], target: str, base: str
) -> CommitOutcome:
    """The outcome of a push to `target`, after opening the pull request when one is asked for.

    A failed run's work on its side branch reports no commit sha (nothing reached the branch the
    run was for) but the branch, and its pull request is a draft."""
    where = f"{request.remote}/{target}"
    if request.side_branch is None:
        note = f"committed {len(files)} file(s) as {sha[:12]} and pushed to {where}"
    else:
        note = (
            f"the run ended with status {request.run_status}: kept its changes to {len(files)} file(s) as "
            f"{sha[:12]} on the side branch {where} (not on {base or 'the checked-out commit'})"
        )
    url = ""
    if request.pull_request:
        url, opened = _open_review(root, request, target, base)
        note = opened if request.side_branch is None else f"{note}; {opened}"
    if request.side_branch is None:
        return CommitOutcome(sha=sha, branch=target, files=files, pull_request_url=url, note=note)
    return CommitOutcome(sha="", branch=target, files=files, pull_request_url=url, note=note, work_branch=target)


def expand_paths(paths: tuple[str, ...], variables: Mapping[str, str] | None, root: Path) -> tuple[str, ...]:
    """Path globs with their template variables expanded, relative to the repository root.

    A path that expands to somewhere outside the repository is a TemplateError (exit 2).
    """
    if variables is None:
        return paths
    expanded = []
    for template in paths:
        path = expand_output_path(template, variables, root)
        relative = path.relative_to(root.resolve()).as_posix()
        # resolve() drops a trailing slash; keep it, it is how users name a folder.
        expanded.append(relative + "/" if template.endswith("/") and relative != "." else relative)
    return tuple(expanded)


def changed_files(repo: git.Repo, globs: tuple[str, ...]) -> list[str]:
    """Changed, new or deleted files matching the globs (git's own pathspec matching)."""
    specs = [f":(glob){pattern.removeprefix('./')}" for pattern in globs]
    out = repo.git.status(
        "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=all", "--", *specs
    )
    files = []
    for entry in out.split("\0"):
        if len(entry) > 3:
            files.append(entry[3:])
    return sorted(set(files))


def _nothing_to_commit(repo: git.Repo, paths: tuple[str, ...], request: CommitRequest) -> str:
    """Names the paths and where files did change instead: a run that wrote into the wrong folder
    must not pass for one that had nothing to report."""
    elsewhere = changed_files(repo, ("**",))  # every changed file of the working tree
    note = unchanged_note(paths, elsewhere, whose="the commit paths", changer="the working tree")
    redactor = Redactor([*secret_values(os.environ), *_credential_forms(request)])
    return "nothing to commit: " + redactor.text(note or "no changes under " + ", ".join(paths))


def _refuse_changed_settings(repo: git.Repo, root: Path, files: tuple[Path, ...]) -> None:
    """The files commit-back took its settings from must be as committed: the agent could have
    rewritten them (say `commit.paths: ['**']`)."""
    for path in files:
        relative = os.path.relpath(path.resolve(), root.resolve())
        try:
            committed = repo.git.cat_file(
                "blob", f"HEAD:{Path(relative).as_posix()}", stdout_as_string=False, strip_newline_in_stdout=False
            )
        except git.GitCommandError:
            committed = None
        if committed is None or path.read_bytes() != committed:
            raise GitConfigChanged(
                f"refusing to commit back: {relative} differs from its committed version, and commit-back "
                "takes its settings from it; nothing was committed or pushed"
            )


def _refuse_secrets(root: Path, files: list[str]) -> None:
    known = known_secret_values()
    for path in files:
        reason = secret_file_reason(root, path, known)
        if reason is not None:
            raise CommitRefused(f"refusing to commit {path}: {reason}; nothing was committed")


def _push_with_retry(repo: git.Repo, request: CommitRequest, target: str, env: dict[str, str] | None) -> None:
    """Push; when another push won the race, fetch, rebase onto it and try again. Never force."""
    secrets = _credential_forms(request)
    last_error = ""
    for attempt in range(1, request.attempts + 1):
        try:
            repo.git.push(request.remote, f"HEAD:refs/heads/{target}", env=env)
            return
        except git.GitCommandError as exc:
            last_error = _git_message(exc, secrets)
        if attempt == request.attempts:
            break
        if not _rebase_onto_remote(repo, request.remote, target, env):
            raise PushFailed(
                f"push to {request.remote}/{target} was rejected and rebasing onto it failed "
                f"(conflict?); the commit stays local. git said: {last_error}"
            )
    raise PushFailed(f"push to {request.remote}/{target} failed {request.attempts} times; last error: {last_error}")


def _rebase_onto_remote(repo: git.Repo, remote: str, target: str, env: Mapping[str, str] | None) -> bool:
    try:
        repo.git.fetch(remote, f"refs/heads/{target}", env=env)
    except git.GitCommandError:
        return True  # the branch is not on the remote (yet): nothing to rebase onto
    try:
        repo.git.rebase("--autostash", "FETCH_HEAD")
    except git.GitCommandError:
        with suppress(git.GitCommandError):
            repo.git.rebase("--abort")
        return False
    return True


def git_config_env(entries: Sequence[tuple[str, str]], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n that add `entries` to git's configuration of one process.

    Configuration passed this way lives in that process's environment only, never in
    .git/config. Entries already in `environ` (the caller's own) are kept; the new ones are
    numbered after them.
    """
    base = os.environ if environ is None else environ
    count = base.get("GIT_CONFIG_COUNT", "").strip()
    start = int(count) if count.isdigit() else 0
    env = {"GIT_CONFIG_COUNT": str(start + len(entries))}
    for index, (key, value) in enumerate(entries, start=start):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def basic_credential(token: str, user: str = GITHUB_TOKEN_USER) -> str:
    """base64 of `USER:TOKEN`, the HTTP basic credential (GitHub takes `x-access-token` as the user
    of a workflow token, GitLab `oauth2` for a project access token)."""
    return base64.b64encode(f"{user}:{token}".encode()).decode("ascii")


def extraheader_key(server_url: str) -> str:
    return f"http.{(server_url.strip() or DEFAULT_SERVER_URL).rstrip('/')}/.extraheader"


def push_config_env(repo: git.Repo, request: CommitRequest) -> dict[str, str] | None:
    """Extra environment of `git push`/`git fetch`: the push token as an Authorization header.

    None without a token (local use, ssh or file remotes): git pushes with what it has.
    None too when actions/checkout persisted a header in .git/config (persist-credentials
    left on, maybe with a PAT that may push where the workflow token may not): that one wins.
    """
    token = request.push_token.strip()
    if not token:
        return None
    key = extraheader_key(request.server_url or _remote_server(repo, request.remote))
    if _has_config(repo, key):
        return None  # the workflow checked out with its own credential (e.g. a PAT): push with that
    return git_config_env([(key, f"AUTHORIZATION: basic {basic_credential(token, request.push_user)}")])


def _remote_server(repo: git.Repo, remote: str) -> str:
    """`scheme://host[:port]` of the remote's push URL, without any credential in it."""
    try:
        url = repo.git.remote("get-url", "--push", remote)
    except git.GitCommandError:
        raise UsageError(f"there is no git remote '{remote}' to push to") from None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"a push token needs an http(s) remote; '{remote}' is not one")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _has_config(repo: git.Repo, key: str) -> bool:
    try:
        return bool(repo.git.config("--get-all", key))
    except git.GitCommandError:
        return False  # exit 1: not set


def _credential_forms(request: CommitRequest) -> tuple[str, ...]:
    token = request.push_token.strip()
    return (token, basic_credential(token, request.push_user)) if token else ()


def _open_review(root: Path, request: CommitRequest, head: str, base: str) -> tuple[str, str]:
    """The pull request (gh) or GitLab merge request for the pushed branch; a draft for a failed
    run's work. Its title and body are redacted of every secret and the push credential."""
    review = Review(
        head=head,
        base=base,
        title=request.message.splitlines()[0],
        body=request.review_body or FOOTER,
        draft=request.side_branch is not None,
    )
    redactor = Redactor([*secret_values(os.environ), *_credential_forms(request)])
    return open_review(root, review, request.push_token, redactor)


# The agent could have written hooks or an fsmonitor command into the repository it worked
# in; commit-back must not run them (they would see the push credential).
# Nor recurse into a repository nested in the tree (a submodule has its own config and filters).
_SAFE_GIT_CONFIG = [
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "submodule.recurse=false",
    "diff.ignoreSubmodules=all",
    "push.recurseSubmodules=no",
]


def _open_repo(path: Path) -> git.Repo:
    if shutil.which("git") is None:
        raise UsageError(
            "commit-back needs the git program, which is not on PATH: install git (Debian/Ubuntu: apt-get install git)"
        )
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise UsageError(f"{path}: not inside a git repository, so nothing can be committed back") from None
    repo.git.set_persistent_git_options(c=_SAFE_GIT_CONFIG)
    return repo


def _current_branch(repo: git.Repo) -> str:
    try:
        return repo.active_branch.name
    except TypeError:
        return ""  # detached HEAD


def _target_branch(request: CommitRequest, base: str) -> str:
    if request.side_branch is not None:
        if request.side_branch == base:  # only if someone named their checked-out branch so
            raise UsageError(f"the side branch {base} is the checked-out branch; a failed run's work goes elsewhere")
        return request.side_branch
    if request.pull_request:
        return request.branch or f"bassi/{request.pr_branch_suffix}"
    if request.branch:
        return request.branch
    if not base:
        raise UsageError("HEAD is detached, so there is no branch to push to; set the branch to push to")
    return base


@contextmanager
def _bot_identity(repo: git.Repo, request: CommitRequest) -> Iterator[None]:
    """Author and committer for this commit only; the repository's config is left alone."""
    env = {
        "GIT_AUTHOR_NAME": request.author_name,
        "GIT_AUTHOR_EMAIL": request.author_email,
        "GIT_COMMITTER_NAME": request.author_name,
        "GIT_COMMITTER_EMAIL": request.author_email,
    }
    with repo.git.custom_environment(**env):
        yield


def _git_message(exc: git.GitCommandError, secrets: Sequence[str] = ()) -> str:
    text = str(exc.stderr or exc.stdout or exc).strip()
    # A push URL may carry a token (GitLab's BASSI_PUSH_TOKEN), the command line an env's header;
    # git usually hides both, this makes sure (the token, its base64 form and every secret variable).
    redactor = Redactor([*secret_values(os.environ), *secrets])
    return redactor.text(" ".join(line.strip() for line in text.splitlines() if line.strip()))[:500]
