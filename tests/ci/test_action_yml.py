"""action.yml, this repository's workflows and the starter workflow, checked by independent tools."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.oracles import actionlint, check_schema, requires

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
OUTPUTS = (
    "status",
    "exit-code",
    "result",
    "result-file",
    "cost-usd",
    "input-tokens",
    "output-tokens",
    "num-turns",
    "structured-output",
    "commit-sha",
    "pull-request-url",
    "work-branch",
)


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return data


@requires("check-jsonschema")
def test_action_matches_the_actions_schema() -> None:
    check_schema("vendor.github-actions", ACTION)


def test_inputs_reach_scripts_only_through_env() -> None:
    steps = action()["runs"]["steps"]
    for step in steps:
        if "run" in step:
            assert "${{" not in step["run"], f"expression inside run: of step {step.get('name')}"
    run_step = next(step for step in steps if step.get("id") == "run")
    for name in set(action()["inputs"]) - {"python-version"}:  # that one only feeds setup-python
        assert f"${{{{ inputs.{name} }}}}" in run_step["env"].values(), name


def test_the_workflow_token_reaches_bassi_under_its_own_name_only() -> None:
    run_step = next(step for step in action()["runs"]["steps"] if step.get("id") == "run")
    assert run_step["env"]["BASSI_GITHUB_TOKEN"] == "${{ github.token }}"
    assert not {"GH_TOKEN", "GITHUB_TOKEN"} & set(run_step["env"])
    others = [str(value) for key, value in run_step["env"].items() if key != "BASSI_GITHUB_TOKEN"]
    assert all("github.token" not in value for value in others)


def test_outputs_are_declared() -> None:
    assert tuple(action()["outputs"]) == OUTPUTS


@requires("actionlint")
def test_a_workflow_using_the_action_is_clean(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # actionlint finds ./ from the repo root
    shutil.copy(ACTION, tmp_path / "action.yml")
    inputs = {name: "x" for name in action()["inputs"]}
    inputs["anthropic-api-key"] = "${{ secrets.ANTHROPIC_API_KEY }}"
    workflow = {
        "name": "uses the local action",
        "on": {"workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "jobs": {
            "run": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {"uses": "actions/checkout@v5"},
                    {"id": "bassi", "uses": "./", "with": inputs},
                    {
                        "env": {
                            name.upper().replace("-", "_"): f"${{{{ steps.bassi.outputs.{name} }}}}" for name in OUTPUTS
                        },
                        "run": 'echo "$STATUS"',
                    },
                ],
            }
        },
    }
    path = tmp_path / ".github" / "workflows" / "use.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    actionlint(path, cwd=tmp_path)
    # actionlint really reads action.yml: an unknown input is reported.
    workflow["jobs"]["run"]["steps"][1]["with"]["no-such-input"] = "x"  # type: ignore[index]
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    proc = subprocess.run(
        ["actionlint", "-shellcheck=", "-pyflakes=", "-oneline", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "no-such-input" in proc.stdout


@requires("actionlint", "check-jsonschema")
def test_repository_workflows_and_templates_are_clean() -> None:
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted((ROOT / "workflow-templates").glob("*.yml"))
    assert {p.name for p in files} >= {"tests.yml", "actionlint.yml", "self-test.yml", "bassi-scheduled-task.yml"}
    actionlint(*files, cwd=ROOT)
    check_schema("vendor.github-workflows", *files)


def test_no_workflow_or_template_persists_checkout_credentials() -> None:
    """The token left in .git/config by a default checkout would be readable by the agent's bash."""
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted((ROOT / "workflow-templates").glob("*.yml"))
    for path in files:
        steps = [step for job in yaml.safe_load(path.read_text())["jobs"].values() for step in job["steps"]]
        checkouts = [step for step in steps if str(step.get("uses", "")).startswith("actions/checkout@")]
        assert checkouts, path.name
        for step in checkouts:
            assert step.get("with", {}).get("persist-credentials") is False, path.name


def test_self_test_uses_only_checkout_the_local_action_and_shell() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/self-test.yml").read_text())
    uses = {step.get("uses") for job in workflow["jobs"].values() for step in job["steps"]} - {None}
    assert uses == {"actions/checkout@v5", "./"}


def test_self_test_stops_its_server_even_when_a_step_fails() -> None:
    steps = yaml.safe_load((ROOT / ".github/workflows/self-test.yml").read_text())["jobs"]["self-test"]["steps"]
    names = [step.get("name") for step in steps]
    stop = steps[names.index("Stop the fake Messages API")]
    assert names.index("Stop the fake Messages API") == len(steps) - 1
    assert stop["if"] == "always()" and "FAKEAPI_PID_FILE" in stop["run"]


def test_starter_workflow_properties() -> None:
    props = json.loads((ROOT / "workflow-templates" / "bassi-scheduled-task.properties.json").read_text())
    assert set(props) >= {"name", "description", "iconName", "categories"}
    assert isinstance(props["categories"], list) and props["categories"]
