"""Environment variables bassi treats specially, in one place for the tools, the action and
redaction alike."""

from __future__ import annotations

# The webhook URL of the environment's own notification (bassi_ci.runs.notify): a credential.
NOTIFY_URL_ENV = "BASSI_NOTIFY_URL"
# The PostgreSQL queue (bassi_ci/queue/location.py): its URL usually holds a password.
QUEUE_URL_ENV = "BASSI_QUEUE_URL"
# The API key and the webhook and queue URLs: never in a tool's environment, always redacted.
ALWAYS_SECRET = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", NOTIFY_URL_ENV, QUEUE_URL_ENV)

# The GitHub runner's file commands: a step appends to these files to set variables, PATH,
# outputs, state and its summary for the steps after it.
RUNNER_FILE_COMMANDS = ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY")
# The runner's own credentials: the OIDC token request, the runtime (cache, artifacts) token.
RUNNER_TOKENS = (
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_RESULTS_URL",
    "ACTIONS_CACHE_URL",
)
