"""A recording stand-in for macOS `launchctl`, installed on PATH by the launchd tests.

It appends each argv (as JSON) to $LAUNCHCTL_STATE/calls.jsonl and keeps a tiny launchd state
in $LAUNCHCTL_STATE/state.json (loaded and disabled labels), answering the way launchctl does:
bootstrap of a disabled service fails, bootout of a job that is not loaded fails with
"No such process", `print` of an unknown service exits 113. It reads every plist it is asked
to load with plistlib, as launchd would refuse a broken one.

Failures to simulate: LAUNCHCTL_FAIL=<subcommand> makes that subcommand fail (exit 5);
LAUNCHCTL_OLD=1 plays a launchctl from before macOS 10.10 that only knows load/unload/list.
"""

from __future__ import annotations

import json
import os
import plistlib
import sys
from pathlib import Path

MODERN = {"bootstrap", "bootout", "enable", "disable", "print", "print-disabled"}


def main(argv: list[str]) -> int:
    folder = Path(os.environ["LAUNCHCTL_STATE"])
    with (folder / "calls.jsonl").open("a", encoding="utf-8") as calls:
        calls.write(json.dumps(argv) + "\n")
    state_file = folder / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {"loaded": [], "disabled": []}
    verb, args = argv[0], argv[1:]
    if os.environ.get("LAUNCHCTL_FAIL") == verb:
        print(f"{verb.capitalize()} failed: 5: Input/output error", file=sys.stderr)
        return 5
    if os.environ.get("LAUNCHCTL_OLD") and verb in MODERN:
        print(f'launchctl: unrecognized subcommand "{verb}"', file=sys.stderr)
        return 1
    code = HANDLERS[verb](state, args)
    state_file.write_text(json.dumps(state))
    return code


def _label_of(path: str) -> str:
    document = plistlib.loads(Path(path).read_bytes())
    return str(document["Label"])


def _bootstrap(state: dict[str, list[str]], args: list[str]) -> int:
    label = _label_of(args[-1])
    if label in state["disabled"]:
        print(f"Bootstrap failed: 119: Service is disabled ({label})", file=sys.stderr)
        return 119
    if label in state["loaded"]:
        print("Bootstrap failed: 5: Input/output error (already loaded)", file=sys.stderr)
        return 5
    state["loaded"].append(label)
    return 0


def _bootout(state: dict[str, list[str]], args: list[str]) -> int:
    label = args[-1].rsplit("/", 1)[-1]
    if label not in state["loaded"]:
        print("Boot-out failed: 3: No such process", file=sys.stderr)
        return 3
    state["loaded"].remove(label)
    return 0


def _enable(state: dict[str, list[str]], args: list[str]) -> int:
    label = args[-1].rsplit("/", 1)[-1]
    state["disabled"] = [item for item in state["disabled"] if item != label]
    return 0


def _disable(state: dict[str, list[str]], args: list[str]) -> int:
    label = args[-1].rsplit("/", 1)[-1]
    state["disabled"] = sorted({*state["disabled"], label})
    return 0


def _print(state: dict[str, list[str]], args: list[str]) -> int:
    label = args[-1].rsplit("/", 1)[-1]
    if label not in state["loaded"]:
        print(f'Bad request.\nCould not find service "{label}" in domain for port', file=sys.stderr)
        return 113
    print(f"{args[-1]} = {{\n\tactive count = 0\n\tpath = (unknown)\n\tstate = not running\n}}")
    return 0


def _print_disabled(state: dict[str, list[str]], args: list[str]) -> int:
    lines = [f'\t"{label}" => disabled' for label in state["disabled"]]
    print("disabled services = {\n" + "\n".join(lines) + "\n}")
    return 0


def _load(state: dict[str, list[str]], args: list[str]) -> int:
    label = _label_of(args[-1])
    if "-w" in args:
        _enable(state, [label])
    elif label in state["disabled"]:
        print(f"{args[-1]}: service is disabled", file=sys.stderr)
        return 1
    if label not in state["loaded"]:
        state["loaded"].append(label)
    return 0


def _unload(state: dict[str, list[str]], args: list[str]) -> int:
    label = _label_of(args[-1])
    if "-w" in args:
        _disable(state, [label])
    if label not in state["loaded"]:
        print("Could not find specified service", file=sys.stderr)
        return 1
    state["loaded"].remove(label)
    return 0


def _list(state: dict[str, list[str]], args: list[str]) -> int:
    if args[-1] not in state["loaded"]:
        print(f'Could not find service "{args[-1]}" in domain for port', file=sys.stderr)
        return 1
    print(f'{{\n\t"Label" = "{args[-1]}";\n}};')
    return 0


HANDLERS = {
    "bootstrap": _bootstrap,
    "bootout": _bootout,
    "enable": _enable,
    "disable": _disable,
    "print": _print,
    "print-disabled": _print_disabled,
    "load": _load,
    "unload": _unload,
    "list": _list,
}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
