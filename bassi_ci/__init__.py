"""bassi-ci: run Claude agent tasks on a schedule or in CI."""

from bassi_ci.__version__ import __version__

__all__ = ["__version__"]
