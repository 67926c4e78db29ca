"""The task queue: items people or agents add, that workers (`bassi execute --next`, or an agent
through `bassi mcp serve`) claim, run and finish exactly once.

`store.py` is the storage interface every backend implements, `sqlite.py` the backend in
BASSI_HOME/state.db, `postgres.py` the one many machines share (with `pg_connection.py` and
`pg_schema.py`; `location.py` says which queue a URL means); `worker.py` runs claimed items as
tasks; `mcp_server.py` (imported only by `bassi mcp serve`, as it loads the `mcp` SDK) exposes
the queue as MCP tools.
"""
