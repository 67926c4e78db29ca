"""The OS-scheduler backends by name: what `--backend` and the installation registry say."""

from __future__ import annotations

from bassi_ci.scheduling.base import Backend, SchedulerError

BACKENDS = ("systemd", "launchd", "cron")


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
