"""Security review of issue #7's fixes: the runner's file-command guard (holes found, and closed since)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.ci.helpers import ACTION_RUN, action_env, runner_env
from tests.fakeapi import FakeMessagesAPI, from_script

# The agent finds the files in $RUNNER_TEMP/_runner_file_commands on a real runner; here they are
# in the test's folder. It plants `<file>.bassi-restore`, the fixed name of restore()'s temporary file.
SYMLINK_ATTACK = """
summary=$(ls "$RUNNER_TEMP"/bassi-summary-*/summary.md)
printf '\\nBASH_ENV=/tmp/evil.sh\\n' >> "$summary"   # the private summary, appended to the real one later
echo changed >> {real_summary}                        # make restore() put the real summary back ...
ln -s {github_env} {real_summary}.bassi-restore       # ... through a link to GITHUB_ENV
"""


# Review hole 5 (was open, now closed): restore() writes through a `<file>.bassi-restore` link the agent
# planted and renames the link into place; the private summary, which the agent can write, is then appended to
# GITHUB_ENV,
def test_restoring_runner_files_follows_no_link_of_the_agent(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = runner_env(tmp_path)
    command = SYMLINK_ATTACK.format(real_summary=env["GITHUB_STEP_SUMMARY"], github_env=env["GITHUB_ENV"])
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": command}]]}),
        from_script({"type": "text", "text": "done"}),
    )
    run_env = action_env(tmp_path, env, prompt="go", anthropic_api_key="k" * 20)
    proc = subprocess.run(
        ACTION_RUN,
        cwd=work,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    github_env = Path(env["GITHUB_ENV"])
    assert "BASH_ENV" not in github_env.read_text(), (proc.returncode, proc.stderr[-1500:])
    assert not Path(env["GITHUB_STEP_SUMMARY"]).is_symlink()


FIFO_ATTACK = "echo changed >> {github_env} && mkfifo {github_env}.bassi-restore"


# Review hole 5b (was open, now closed): a FIFO at `<file>.bassi-restore` makes restore() block for ever (the
# step hangs until the job's own timeout, past every limit of the run),
def test_restoring_runner_files_cannot_be_stalled(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = runner_env(tmp_path)
    fake_api.enqueue(
        from_script(
            {"type": "tool_use", "calls": [["bash", {"command": FIFO_ATTACK.format(github_env=env["GITHUB_ENV"])}]]}
        ),
        from_script({"type": "text", "text": "done"}),
    )
    run_env = action_env(tmp_path, env, prompt="go", anthropic_api_key="k" * 20, timeout_minutes="1")
    proc = subprocess.Popen(
        ACTION_RUN,
        cwd=work,
        env=run_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("action-run still ran 30 s after a one-command run")


ESCAPE_THEN_WRITE = (
    "(setsid sh -c 'sleep 3; echo BASH_ENV=/tmp/evil.sh >> {github_env}' > /dev/null 2>&1 &); "
    "execute=$(awk '{{print $4}}' /proc/$PPID/stat); kill -9 $PPID; kill -9 $execute"
)


def test_a_process_that_outlives_a_killed_execute_cannot_write_the_runner_files_later(
    tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    """The agent kills its supervisor and `bassi execute` itself, leaving a process that writes
    GITHUB_ENV once the check is done: action-run adopts it (a subreaper) and stops it first."""
    work = tmp_path / "work"
    work.mkdir()
    env = runner_env(tmp_path)
    command = ESCAPE_THEN_WRITE.format(github_env=env["GITHUB_ENV"])
    fake_api.enqueue(from_script({"type": "tool_use", "calls": [["bash", {"command": command}]]}))
    run_env = action_env(tmp_path, env, prompt="go", anthropic_api_key="k" * 20)
    proc = subprocess.run(
        ACTION_RUN,
        cwd=work,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0  # execute was killed: no result, the step fails
    time.sleep(4)  # longer than the escaped process waits before it writes
    assert "BASH_ENV" not in Path(env["GITHUB_ENV"]).read_text(), proc.stderr[-1500:]
