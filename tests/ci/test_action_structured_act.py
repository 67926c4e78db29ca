"""Under act: a workflow gives the action an `output-schema`, and a later step reads the
`structured-output` output with `fromJSON` — the way users build on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.ci.test_action_act import (  # noqa: F401 - fixtures, used by name
    act,
    assert_server_stopped,
    fakeapi_pid_file,
    git,
    repo_copy,
)
from tests.oracles import requires

pytestmark = [pytest.mark.slow, requires("act")]

SCHEMA = {
    "type": "object",
    "required": ["verdict", "findings"],
    "properties": {"verdict": {"enum": ["pass", "fail"]}, "findings": {"type": "array", "items": {"type": "string"}}},
}
ANSWER = {"verdict": "fail", "findings": ["two\nlines", 'it\'s "quoted" & ${{ not an expression }}']}


def test_structured_output_reaches_a_later_step_through_fromjson(
    repo_copy: Path,  # noqa: F811
    tmp_path: Path,
    fakeapi_pid_file: Path,  # noqa: F811
) -> None:
    work = repo_copy
    script = [
        {"type": "tool_use", "calls": [["structured_output", {"verdict": "maybe", "findings": []}]]},
        {"type": "tool_use", "calls": [["structured_output", ANSWER]]},
    ]
    (work / ".github" / "structured-script.json").write_text(json.dumps(script))
    steps = yaml.safe_load((work / ".github/workflows/self-test.yml").read_text())["jobs"]["self-test"]["steps"]
    start_server = next(step for step in steps if step.get("name") == "Start the fake Messages API")
    start_server["run"] = start_server["run"].replace(".github/self-test/script.json", ".github/structured-script.json")
    stop_server = next(step for step in steps if step.get("name") == "Stop the fake Messages API")
    seen = tmp_path / "seen.json"
    workflow = {
        "name": "structured output",
        "on": {"workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "jobs": {
            "structured": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {"uses": "actions/checkout@v5", "with": {"persist-credentials": False}},
                    start_server,
                    {
                        "id": "bassi",
                        "uses": "./",
                        "with": {
                            "prompt": "review the repository",
                            "anthropic-api-key": "fake-key-structured",
                            "output-schema": json.dumps(SCHEMA),
                        },
                    },
                    {
                        "env": {
                            "VERDICT": "${{ fromJSON(steps.bassi.outputs.structured-output).verdict }}",
                            "FIRST": "${{ fromJSON(steps.bassi.outputs.structured-output).findings[0] }}",
                            "WHOLE": "${{ steps.bassi.outputs.structured-output }}",
                            "SEEN": str(seen),
                        },
                        "run": "python3 -c 'import json, os; json.dump({k.lower(): os.environ[k] "
                        'for k in ("VERDICT", "FIRST", "WHOLE")}, open(os.environ["SEEN"], "w"))\'',
                    },
                    stop_server,
                ],
            }
        },
    }
    (work / ".github/workflows/structured.yml").write_text(yaml.safe_dump(workflow, sort_keys=False))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "structured output workflow")

    proc = act(work, ".github/workflows/structured.yml", tmp_path)

    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert_server_stopped(fakeapi_pid_file)
    seen_values = json.loads(seen.read_text())
    assert seen_values["verdict"] == "fail"
    assert seen_values["first"] == "two\nlines"
    assert json.loads(seen_values["whole"]) == ANSWER
