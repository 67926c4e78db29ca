"""A cache of task records that already passed the schema, keyed by file identity.

`schedule list` of 1,000 tasks spends most of its time parsing YAML and running
jsonschema. A file whose (mtime_ns, size, inode) are unchanged since it was last
validated is taken from this cache instead. It is only an optimisation: a missing,
stale or corrupt cache is ignored, and the semantic checks still run every time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from bassi_ci import __version__
from bassi_ci.fsutil import atomic_write_text
from bassi_ci.home import folder_state_path
from bassi_ci.tasks.schema import task_schema


def file_key(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_mtime_ns, info.st_size, info.st_ino]


class ValidatedCache:
    """The cache of one tasks folder; it lives in BASSI_HOME/cache, never in the folder itself."""

    def __init__(self, root: Path) -> None:
        self.path = folder_state_path(root, "cache", ".json")
        self.entries: dict[str, Any] = self._read()
        self.changed = False

    def get(self, name: str, key: list[int]) -> dict[str, Any] | None:
        entry = self.entries.get(name)
        if isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("record"), dict):
            return entry["record"]  # type: ignore[no-any-return]
        return None

    def put(self, name: str, key: list[int], record: dict[str, Any]) -> None:
        self.entries[name] = {"key": key, "record": record}
        self.changed = True

    def save(self, present: set[str]) -> None:
        """Write back (dropping files that are gone) when anything changed; never fail the caller."""
        stale = set(self.entries) - present
        if not self.changed and not stale:
            return
        for name in stale:
            del self.entries[name]
        with contextlib.suppress(OSError):  # a read-only BASSI_HOME still lists, just slower
            # No fsync: an optimisation only, and a cache a crash tore is ignored (~10–250 ms of a cold list).
            atomic_write_text(
                self.path, json.dumps({"version": _cache_version(), "entries": self.entries}), durable=False
            )

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return {}
        # Another bassi version or task schema may judge files differently: validate them again.
        if not isinstance(data, dict) or data.get("version") != _cache_version():
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}


@functools.cache
def _cache_version() -> str:
    schema = json.dumps(task_schema(), sort_keys=True).encode()
    return f"{__version__}+{hashlib.sha256(schema).hexdigest()[:16]}"
