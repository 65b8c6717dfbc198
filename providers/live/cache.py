"""The SQLite price cache in front of the live APIs.

One row per (provider, region, instance type, option) with the API that served it and when it was
fetched; a second table remembers "the API had no offer" so a miss is not re-fetched every run.
Several processes may share the file (CI jobs, a pre-commit run next to a CLI run): WAL journal,
a busy timeout, and every write in one short IMMEDIATE transaction. Rows are never deleted by a
read; stale rows stay as a fallback when the live API fails, and `tollgate prices clear` empties it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import msgspec

from tollgate.engine.errors import ProviderError
from tollgate.providers.live.base import ON_DEMAND, RESERVED_1Y, RESERVED_3Y, SPOT, LiveQuote

SCHEMA_VERSION = "1"
FILE_NAME = "prices.sqlite"

HOUR = 3600.0
DAY = 24 * HOUR

# On-demand and reserved list prices change a few times a year; spot moves within the hour.
DEFAULT_TTLS: Mapping[str, float] = {ON_DEMAND: 7 * DAY, RESERVED_1Y: 7 * DAY, RESERVED_3Y: 7 * DAY, SPOT: 1 * HOUR}
MISS_TTL = 1 * DAY
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prices (
    provider TEXT NOT NULL, region TEXT NOT NULL, type_key TEXT NOT NULL, option TEXT NOT NULL,
    instance_type TEXT NOT NULL, hourly_usd TEXT NOT NULL, api TEXT NOT NULL,
    effective TEXT NOT NULL, detail TEXT NOT NULL, fetched_at REAL NOT NULL,
    PRIMARY KEY (provider, region, type_key, option)
);
CREATE TABLE IF NOT EXISTS misses (
    provider TEXT NOT NULL, region TEXT NOT NULL, type_key TEXT NOT NULL, option TEXT NOT NULL,
    api TEXT NOT NULL, fetched_at REAL NOT NULL,
    PRIMARY KEY (provider, region, type_key, option)
);
"""


class PriceCacheError(ProviderError):
    """The cache file cannot be used: not a SQLite file, locked past the busy timeout, not writable.

    A check run carries on without the cache and says so; `tollgate prices` commands stop with it.
    """

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"price cache {path}", problem)


class CachedPrice(msgspec.Struct, frozen=True):
    quote: LiveQuote
    fetched_at: float  # unix seconds

    def age(self, now: float) -> float:
        return max(0.0, now - self.fetched_at)

    @property
    def fetched_iso(self) -> str:
        return iso_minutes(self.fetched_at)


class CacheKey(msgspec.Struct, frozen=True):
    provider: str
    region: str
    instance_type: str
    option: str

    @property
    def type_key(self) -> str:
        return self.instance_type.strip().lower()


def iso_minutes(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


class PriceCache(msgspec.Struct):
    path: Path
    ttls: Mapping[str, float] = msgspec.field(default_factory=lambda: dict(DEFAULT_TTLS))
    _connection: sqlite3.Connection | None = None

    # --- reading ------------------------------------------------------------------------------

    def _get(self, key: CacheKey) -> CachedPrice | None:
        if not self.path.exists():
            return None
        row = self._db().execute(
            "SELECT instance_type, hourly_usd, api, effective, detail, fetched_at FROM prices "
            "WHERE provider=? AND region=? AND type_key=? AND option=?",
            (key.provider, key.region, key.type_key, key.option),
        ).fetchone()
        if row is None:
            return None
        quote = LiveQuote(key.provider, key.region, row[0], key.option, row[1], row[2], row[3], row[4])
        return CachedPrice(quote, row[5])

    def is_fresh(self, cached: CachedPrice, now: float | None = None) -> bool:
        ttl = self.ttls.get(cached.quote.option, DEFAULT_TTLS[ON_DEMAND])
        return cached.age(now if now is not None else time.time()) < ttl

    def _known_miss(self, key: CacheKey, now: float | None = None) -> bool:
        if not self.path.exists():
            return False
        row = self._db().execute(
            "SELECT fetched_at FROM misses WHERE provider=? AND region=? AND type_key=? AND option=?",
            (key.provider, key.region, key.type_key, key.option),
        ).fetchone()
        return row is not None and (now if now is not None else time.time()) - row[0] < MISS_TTL

    def _rows(self, provider: str | None = None) -> list[CachedPrice]:
        if not self.path.exists():
            return []
        sql = "SELECT provider, region, instance_type, option, hourly_usd, api, effective, detail, fetched_at FROM prices"
        arguments: tuple[str, ...] = ()
        if provider:
            sql += " WHERE provider=?"
            arguments = (provider,)
        sql += " ORDER BY provider, region, type_key, option"
        return [CachedPrice(LiveQuote(*row[:8]), row[8]) for row in self._db().execute(sql, arguments)]

    def _counts(self) -> dict[str, int]:
        if not self.path.exists():
            return {"prices": 0, "misses": 0}
        db = self._db()
        return {
            "prices": db.execute("SELECT count(*) FROM prices").fetchone()[0],
            "misses": db.execute("SELECT count(*) FROM misses").fetchone()[0],
        }

    # --- writing ------------------------------------------------------------------------------

    def _put(self, quotes: Iterable[LiveQuote], misses: Iterable[tuple[CacheKey, str]] = (), now: float | None = None) -> None:
        stamp = now if now is not None else time.time()
        price_rows = [
            (q.provider, q.region, q.instance_type.strip().lower(), q.option, q.instance_type, q.hourly_usd, q.api, q.effective, q.detail, stamp)
            for q in quotes
        ]
        miss_rows = [(k.provider, k.region, k.type_key, k.option, api, stamp) for k, api in misses]
        if not price_rows and not miss_rows:
            return
        db = self._db(create=True)
        with _immediate(db):
            db.executemany("INSERT OR REPLACE INTO prices VALUES (?,?,?,?,?,?,?,?,?,?)", price_rows)
            db.executemany("INSERT OR REPLACE INTO misses VALUES (?,?,?,?,?,?)", miss_rows)
            # A price that arrived supersedes an old "no offer".
            db.executemany(
                "DELETE FROM misses WHERE provider=? AND region=? AND type_key=? AND option=?", [row[:4] for row in price_rows]
            )

    def _clear(self, provider: str | None = None) -> int:
        if not self.path.exists():
            return 0
        db = self._db()
        with _immediate(db):
            if provider:
                count = db.execute("DELETE FROM prices WHERE provider=?", (provider,)).rowcount
                db.execute("DELETE FROM misses WHERE provider=?", (provider,))
            else:
                count = db.execute("DELETE FROM prices").rowcount
                db.execute("DELETE FROM misses")
        return int(count)

    # --- public API: every SQLite failure becomes a PriceCacheError naming the file ---------------

    def get(self, key: CacheKey) -> CachedPrice | None:
        """The cached price, fresh or not (callers decide with `is_fresh`)."""
        with self._guard():
            return self._get(key)

    def known_miss(self, key: CacheKey, now: float | None = None) -> bool:
        """The live API said recently that it has no such offer."""
        with self._guard():
            return self._known_miss(key, now)

    def rows(self, provider: str | None = None) -> list[CachedPrice]:
        with self._guard():
            return self._rows(provider)

    def counts(self) -> dict[str, int]:
        with self._guard():
            return self._counts()

    def put(self, quotes: Iterable[LiveQuote], misses: Iterable[tuple[CacheKey, str]] = (), now: float | None = None) -> None:
        with self._guard():
            self._put(quotes, misses, now)

    def clear(self, provider: str | None = None) -> int:
        """Delete cached prices (of one provider); returns how many price rows went."""
        with self._guard():
            return self._clear(provider)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            self.close()
            raise PriceCacheError(self.path, str(error)) from error
        except OSError as error:  # the cache directory cannot be created
            raise PriceCacheError(self.path, error.strerror or str(error)) from error

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # --- connection ---------------------------------------------------------------------------

    def _db(self, create: bool = False) -> sqlite3.Connection:
        if self._connection is None:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE) so concurrent
            # writers queue on the busy timeout instead of failing on a lock upgrade.
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            _use_wal(connection)
            with _immediate(connection):
                for statement in _SCHEMA.strip().split(";"):
                    if statement.strip():
                        connection.execute(statement)
                version = connection.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if version is None:
                    connection.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif version[0] != SCHEMA_VERSION:
                    # An older Tollgate's cache: start over rather than misread it.
                    connection.execute("DELETE FROM prices")
                    connection.execute("DELETE FROM misses")
                    connection.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
            self._connection = connection
        return self._connection


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch the file to write-ahead logging, waiting out other processes doing the same.

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is locked"
    at once, without the busy handler, when another process is opening or switching the same
    new file (seen in CI with four writers starting together). The mode is stored in the file,
    so only the first opener really switches; the others find "wal" already set.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


class _immediate:
    """`with _immediate(db):` one write transaction, taken up front (BEGIN IMMEDIATE)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
