"""Local scheduling: install tasks into the machine's own scheduler (systemd user timers,
launchd, cron), and a foreground scheduler for machines without one. See `base` first."""
