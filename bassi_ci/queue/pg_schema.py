"""The PostgreSQL queue's tables, created and migrated by bassi itself: one ordered list of
versioned migrations, recorded in `bassi_schema_migrations`.

Every table's name starts with `bassi_`, so the queue can live in a database other programs use.
Migrating happens in one transaction under a transaction-level advisory lock: of workers that
start at once on an empty database, one creates the tables and the others wait, then find them
there (two concurrent `CREATE TABLE IF NOT EXISTS` may otherwise both fail on the catalog).

Columns mirror the SQLite queue (bassi_ci/runs/history.py, m003_queue_items). Times are
`timestamptz` (they compare as times, whatever the session's zone); `vars` and `result` are
JSON kept as text, byte for byte what was written, as jsonb would reorder keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from bassi_ci.queue.model import QueueStoreError

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import DictRow

MIGRATIONS_TABLE = "bassi_schema_migrations"
ITEMS_TABLE = "bassi_queue_items"
# Any fixed 64-bit number, the same in every bassi: "bassi-q" in ASCII.
MIGRATION_LOCK_KEY = 0x62617373692D71


class Migration(NamedTuple):
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS = (
    Migration(
        1,
        "queue items",
        (
            f"""CREATE TABLE {ITEMS_TABLE} (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name TEXT NOT NULL,
                prompt TEXT,
                task TEXT,
                priority INTEGER NOT NULL DEFAULT 0,
                vars TEXT NOT NULL DEFAULT '{{}}',
                status TEXT NOT NULL
                    CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled')),
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                worker TEXT,
                lease_expires_at TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL,
                started_at TIMESTAMPTZ,
                finished_at TIMESTAMPTZ,
                run_id TEXT,
                result TEXT,
                error TEXT
            )""",
            # What a claim reads: the best pending item.
            f"CREATE INDEX {ITEMS_TABLE}_next ON {ITEMS_TABLE} (priority DESC, id) WHERE status = 'pending'",
            # What settling expired leases reads: running items by lease end.
            f"CREATE INDEX {ITEMS_TABLE}_leases ON {ITEMS_TABLE} (lease_expires_at) WHERE status = 'running'",
            # `queue list --status S`.
            f"CREATE INDEX {ITEMS_TABLE}_status ON {ITEMS_TABLE} (status, id)",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version


def migrate(connection: Connection[DictRow]) -> int:
    """Bring the database's queue tables up to date; the number of migrations applied (0 when
    they already were, which costs one query and no lock)."""
    if _known(_applied_version(connection)) == LATEST_VERSION:
        return 0
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        # Read again under the lock: another worker may have migrated meanwhile.
        done = {row["version"] for row in connection.execute(f"SELECT version FROM {MIGRATIONS_TABLE}")}
        _known(max(done, default=0))
        missing = [step for step in MIGRATIONS if step.version not in done]
        for step in missing:
            for statement in step.statements:
                connection.execute(statement)
            connection.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (%s, %s)", (step.version, step.name)
            )
    return len(missing)


def _known(version: int) -> int:
    """`version`, unless a newer bassi migrated the tables past what this one knows: reading and
    writing them as if they had this bassi's shape could lose or garble items, so stop instead."""
    if version > LATEST_VERSION:
        raise QueueStoreError(
            f"the queue's tables are at schema version {version}, newer than this bassi knows "
            f"({LATEST_VERSION}): upgrade bassi-ci on this machine (pip install -U 'bassi-ci[postgres]')"
        )
    return version


def _applied_version(connection: Connection[DictRow]) -> int:
    row = connection.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (MIGRATIONS_TABLE,)).fetchone()
    if row is None or not row["present"]:
        return 0
    latest = connection.execute(f"SELECT max(version) AS version FROM {MIGRATIONS_TABLE}").fetchone()
    return int(latest["version"] or 0) if latest is not None else 0
