"""bassi-ci: run Claude agent tasks on a schedule or in CI."""

__version__ = "0.1.0"
