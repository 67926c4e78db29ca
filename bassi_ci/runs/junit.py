"""A run result as a JUnit XML report, so CI systems show a task run like a test."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from bassi_ci.fsutil import atomic_write_text

# Characters XML 1.0 cannot carry at all (escaping does not help); agent output may contain them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_xml(result: dict[str, Any]) -> str:
    """One testsuite with one testcase named after the task; a failure unless status is success,
    skipped when `execute --next` found the queue empty (`idle`: nothing ran, nothing failed)."""
    task_id = str(result.get("task_id") or "prompt")
    status = str(result.get("status", "failed"))
    seconds = f"{(result.get('duration_ms') or 0) / 1000:.3f}"
    idle = status == "idle"
    failed = status not in ("success", "idle")
    suite = ET.Element(
        "testsuite",
        {
            "name": "bassi",
            "tests": "1",
            "failures": "1" if failed else "0",
            "errors": "0",
            "skipped": "1" if idle else "0",
            "time": seconds,
        },
    )
    if result.get("started_at"):
        suite.set("timestamp", str(result["started_at"]))
    case = ET.SubElement(suite, "testcase", {"classname": "bassi", "name": _xml_text(task_id), "time": seconds})
    if failed:
        error = result.get("error") or {}
        message = _xml_text(str(error.get("message") or f"run ended with status {status}"))
        failure = ET.SubElement(case, "failure", {"message": message, "type": str(error.get("type") or status)})
        failure.text = f"status: {status}\nexit code: {result.get('exit_code')}\n{message}"
    if idle:
        ET.SubElement(case, "skipped", {"message": "the queue was empty: nothing ran"})
    if result.get("result"):
        ET.SubElement(case, "system-out").text = _xml_text(str(result["result"]))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def write_junit(result: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, junit_xml(result))


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
