"""Code that acts in CI: commit-back (git, gh) and the runner of the GitHub Action.

The renderers that only turn tasks into text live in bassi_ci.generators; this package
runs programs and talks to git, so only the commands that commit or run the action import it.
"""
