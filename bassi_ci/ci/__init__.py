"""Code that acts in CI: commit-back (git, gh) and the runner of the GitHub Action.

The renderers that only turn tasks into text live in bassi_ci.generators; this package
runs programs and talks to git, so only the commands that commit or run the action import it.
"""

import os

# GitPython refuses to import when no git program is on PATH, with a page of text; commit-back
# checks for git itself and says so in one line (exit 2) instead.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
