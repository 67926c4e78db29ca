"""The package version: the one place it is written.

pyproject.toml reads it from here (hatch's dynamic version), `bassi --version` and the task
cache import it, and a release tag `vX.Y.Z` must match it (release.yml checks).
"""

__version__ = "0.1.0"
