"""A recording stand-in for crontab(1), so unit tests never touch the machine's real crontab.

It keeps "the user's crontab" in a file, answers `-l` and `-` like Debian's crontab (the
same "no crontab for USER" message and exit 1 when there is none, the text back byte for
byte), and appends each call's arguments to a log. Two switches, as files next to the
crontab, play the other people in a test:

* `<crontab>.interfere` holding N: for the next N reads, another editor adds a line just
  before bassi reads the crontab, so every read differs from the one before (a crontab
  that keeps changing);
* `<crontab>.refuse`: `crontab -` fails like a crontab with errors ("can't install").

Unlike Debian's crontab it accepts a text without a final newline, so tests can show that
bassi keeps one missing. The real crontab and daemon are used in test_cron_e2e.py.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

SCRIPT = r"""#!/bin/sh
file=@FILE@
printf '%s\n' "$*" >> "$file.calls"
case "$*" in
  -l)
    if [ ! -f "$file" ]; then
      echo "no crontab for $(id -un)" >&2
      exit 1
    fi
    if [ -f "$file.interfere" ]; then
      left=$(cat "$file.interfere")
      if [ "$left" -gt 0 ]; then
        printf '# another editor, change %s\n' "$left" >> "$file"
        echo $((left - 1)) > "$file.interfere"
      fi
    fi
    cat "$file"
    ;;
  -)
    if [ -f "$file.refuse" ]; then
      cat > /dev/null
      echo 'errors in crontab file, can'"'"'t install.' >&2
      exit 1
    fi
    cat > "$file.new.$$" && mv "$file.new.$$" "$file"
    ;;
  *)
    echo "crontab: usage error: $*" >&2
    exit 1
    ;;
esac
"""


@dataclass
class StandInCrontab:
    """The stand-in's files: `program` is the script, `file` the crontab it keeps."""

    program: Path
    file: Path

    @classmethod
    def create(cls, folder: Path) -> StandInCrontab:
        folder.mkdir(parents=True, exist_ok=True)
        program = folder / "crontab"
        file = folder / "user-crontab"
        program.write_text(SCRIPT.replace("@FILE@", shlex.quote(str(file))))
        program.chmod(0o755)
        return cls(program=program, file=file)

    def set(self, content: bytes) -> None:
        self.file.write_bytes(content)

    def content(self) -> bytes:
        return self.file.read_bytes()

    def calls(self) -> list[str]:
        log = self.file.with_name(self.file.name + ".calls")
        return log.read_text().splitlines() if log.exists() else []

    def interfere(self, times: int) -> None:
        self.file.with_name(self.file.name + ".interfere").write_text(str(times))

    def refuse_writes(self) -> None:
        self.file.with_name(self.file.name + ".refuse").touch()
