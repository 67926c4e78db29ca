"""The OS-scheduler backends by name: what `--backend` and the installation registry say,
and which one `--backend auto` means on this machine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable

from bassi_ci.scheduling.base import Backend, SchedulerError

BACKENDS = ("systemd", "launchd", "cron")
# A user manager that does not answer this fast is not one timers can rely on.
PROBE_TIMEOUT_S = 10

Which = Callable[[str], str | None]


def backend_named(name: str) -> Backend:
    """The backend called `name`, with its default settings (programs found on PATH)."""
    # Lazy: each backend pulls in its own helpers; a command uses one of them.
    if name == "systemd":
        from bassi_ci.scheduling.systemd import SystemdBackend

        return SystemdBackend()
    if name == "launchd":
        from bassi_ci.scheduling.launchd import LaunchdBackend

        return LaunchdBackend()
    if name == "cron":
        from bassi_ci.scheduling.cron import CronBackend

        return CronBackend()
    raise SchedulerError(f"unknown scheduler backend '{name}'; expected one of {', '.join(BACKENDS)} (or auto)")


def auto_backend(platform: str | None = None, which: Which = shutil.which) -> str:
    """The backend `--backend auto` picks here: launchd on macOS, systemd where a user manager
    really answers, else cron. `platform` (sys.platform) and `which` are injectable for tests.

    systemd is asked, not assumed: `systemctl` is installed in many containers and WSL set-ups
    where PID 1 is something else and every `--user` call fails.
    """
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "cygwin"):
        raise SchedulerError(
            "installing into the Windows Task Scheduler is not supported yet; run"
            " 'bassi scheduler run' in WSL or a container instead"
        )
    if platform == "darwin":
        return "launchd"
    systemctl = which("systemctl")
    if systemctl is not None and _user_manager_answers(systemctl):
        return "systemd"
    if which("crontab") is not None:
        return "cron"
    raise SchedulerError(
        "no OS scheduler found: systemd user timers do not work here and there is no crontab;"
        " install cron (Debian/Ubuntu: apt-get install cron) or run 'bassi scheduler run'"
    )


def _user_manager_answers(systemctl: str) -> bool:
    """Whether `systemctl --user` reaches a running user manager."""
    try:
        done = subprocess.run(
            [systemctl, "--user", "show-environment"],
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
