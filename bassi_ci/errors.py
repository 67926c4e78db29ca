"""Every failure a user can cause or meet, each carrying its documented exit code.

Domain code raises these; the CLI turns them into a one-line message (or a JSON
result in CI mode) and the exit code from docs/design.md. Nothing else should reach
the user as a traceback.
"""

from __future__ import annotations

import traceback
from enum import IntEnum


class ExitCode(IntEnum):
    SUCCESS = 0
    FAILED = 1
    USAGE_ERROR = 2
    NEEDS_INPUT = 3
    TIMEOUT = 4
    LIMIT_REACHED = 5
    API_ERROR = 6
    AUTH_ERROR = 7
    LOCKED = 8
    FORBIDDEN = 9
    INTERRUPTED = 130

    @property
    def status(self) -> str:
        """The `status` word that goes with this code in results and history."""
        return self.name.lower() if self is not ExitCode.SUCCESS else "success"

    @classmethod
    def known(cls, code: int) -> ExitCode | None:
        """The documented exit code `code` is, or None (a crash's or a signal's code)."""
        try:
            return cls(code)
        except ValueError:
            return None


class BassiError(Exception):
    """Base class: a failure with a message meant for the user and an exit code."""

    exit_code: ExitCode = ExitCode.FAILED
    retryable: bool = False

    @property
    def status(self) -> str:
        return self.exit_code.status

    @property
    def type_name(self) -> str:
        return type(self).__name__


class UsageError(BassiError):
    """Bad arguments, an unknown task, a bad schedule or template variable."""

    exit_code = ExitCode.USAGE_ERROR


class TaskFileError(UsageError):
    """A task file that cannot be read or does not match the task schema."""


class TaskNotFound(UsageError):
    """No task with that id in the store."""


class StoreError(BassiError):
    """The task store on disk cannot be read or written (permissions, full disk, …)."""

    exit_code = ExitCode.FAILED


class ScheduleError(UsageError):
    """A schedule expression that cannot be parsed or rendered."""


class TemplateError(UsageError):
    """An unknown or malformed template variable."""


class RunFailed(BassiError):
    """The agent finished with an error, or a required step failed."""

    exit_code = ExitCode.FAILED


class NeedsInput(BassiError):
    """The agent asked a question where nobody can answer."""

    exit_code = ExitCode.NEEDS_INPUT


class RunTimeout(BassiError):
    """The wall-clock limit was reached."""

    exit_code = ExitCode.TIMEOUT


class LimitReached(BassiError):
    """max_turns or max_budget_usd was reached."""

    exit_code = ExitCode.LIMIT_REACHED


class ApiError(BassiError):
    """A retryable API failure that outlasted every retry."""

    exit_code = ExitCode.API_ERROR
    retryable = True


class AuthError(BassiError):
    """A permanent API failure: no key, bad key, invalid request."""

    exit_code = ExitCode.AUTH_ERROR


class Locked(BassiError):
    """Another run of the same task is still in progress."""

    exit_code = ExitCode.LOCKED


class Forbidden(BassiError):
    """The action's actor gate refused to run the agent for whoever triggered the workflow."""

    exit_code = ExitCode.FORBIDDEN


class Interrupted(BassiError):
    """Stopped by SIGINT or SIGTERM."""

    exit_code = ExitCode.INTERRUPTED


class InternalError(BassiError):
    """A defect in bassi itself; the run still ends with a result (exit 1)."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # the traceback, for the transcript and the crash log

    @classmethod
    def of(cls, bug: BaseException) -> InternalError:
        return cls(f"unexpected error: {type(bug).__name__}: {bug}", "".join(traceback.format_exception(bug)))


def as_bassi_error(ending: BaseException, interrupted: str = "interrupted") -> BassiError:
    """The one policy for how anything that stops a run is reported: a BassiError stays itself,
    Ctrl-C or SIGTERM (KeyboardInterrupt, see bassi_ci.signals) is `interrupted` (130), and
    anything else is a defect of bassi's (InternalError, exit 1). `interrupted` says when."""
    if isinstance(ending, BassiError):
        return ending
    if isinstance(ending, KeyboardInterrupt):
        return Interrupted(interrupted)
    return InternalError.of(ending)
