"""The one rule for which task a user means when they type a name (docs/design.md, "Where
tasks live, and how they are found").

In order: the exact `id`; else the task whose `name` is the text (ignoring case, runs of
spaces and the Unicode form: "Café" typed in NFC is the NFD "Café" a macOS file holds) when
exactly one has it; else the task whose id is the text made into an id ("Weekly report" →
weekly-report), which is how `schedule add NAME` made the id — never for text with a path
separator, which `slugify` would quietly turn "../alpha" into "alpha". Two tasks
with that name are ambiguous: the error lists their ids. Nothing found: a did-you-mean from
the closest ids and names.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from bassi_ci.errors import UsageError
from bassi_ci.tasks.model import Task, slugify


class AmbiguousTask(UsageError):
    """A name that several tasks share: the user must give an id."""


def match_task(spec: str, tasks: Sequence[Task]) -> Task | None:
    """The task `spec` names among `tasks`, None when none does; AmbiguousTask when several do."""
    by_id = [task for task in tasks if task.id == spec]
    if by_id:
        return by_id[0]
    wanted = _folded(spec)
    by_name = [task for task in tasks if _folded(task.name) == wanted]
    if len(by_name) > 1:
        ids = ", ".join(sorted(task.id for task in by_name))
        raise AmbiguousTask(f"'{spec}' is the name of several tasks ({ids}); give the id instead")
    if by_name:
        return by_name[0]
    if "/" in spec or "\\" in spec:
        return None
    slug = slugify(spec)
    return next((task for task in tasks if slug and task.id == slug), None)


def did_you_mean(spec: str, candidates: Sequence[str]) -> str:
    """' (did you mean 'x'?)' for the closest candidate, or '' when nothing is close."""
    close = difflib.get_close_matches(spec, list(dict.fromkeys(candidates)), n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(slugify(spec), list(dict.fromkeys(candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _folded(text: str) -> str:
    """A name as a reader sees it: one Unicode form (NFKC), no case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
