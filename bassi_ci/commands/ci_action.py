"""`bassi ci action-run`: the `bassi run` GitHub Action's entry point (called by action.yml)."""

from __future__ import annotations

import os

import click

from bassi_ci import output
from bassi_ci.ci.action import GITHUB_TOKEN_VAR, INPUT_PREFIX, github_output_text, run_action
from bassi_ci.ci.commit import basic_credential
from bassi_ci.procguard import hide_from_same_user


@click.command(name="action-run", hidden=True)
def ci_action_run() -> int:
    """Run the `bassi run` GitHub Action from its BASSI_INPUT_* environment (used by action.yml)."""
    hide_from_same_user()  # the key and the workflow token stay in /proc/<pid>/environ: not the agent's
    for secret_input in ("ANTHROPIC_API_KEY", "NOTIFY_URL"):
        value = os.environ.get(INPUT_PREFIX + secret_input, "").strip()
        if value:
            output.echo(f"::add-mask::{value}")
    token = os.environ.get(GITHUB_TOKEN_VAR, "").strip()
    if token:
        # GitHub masks the token (a secret) itself, not the base64 form commit-back sends as a header.
        output.echo(f"::add-mask::{basic_credential(token)}")
    environ = dict(os.environ)
    # Keep the workflow token and the inputs (the API key among them) out of every process this
    # one starts itself (git, gh): run_action hands each to the one process that needs it.
    for name in [GITHUB_TOKEN_VAR, *(name for name in os.environ if name.startswith(INPUT_PREFIX))]:
        os.environ.pop(name, None)
    outcome = run_action(environ)
    for note in outcome.notes:
        output.echo(note)
    text = github_output_text(outcome.outputs())
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        output.echo(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and (outcome.commit_sha or outcome.pull_request_url):
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"\n**Commit-back:** {outcome.commit_sha or ''} {outcome.pull_request_url}\n")
    output.note(
        f"bassi: status {outcome.outputs()['status']}, exit code {outcome.exit_code}; result in {outcome.result_file}"
    )
    return outcome.exit_code
