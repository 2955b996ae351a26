"""A content-addressed cache of parsed files and evaluation results, in one SQLite file.

Why SQLite: atomic writes and safe concurrent runs for free (stdlib, WAL mode). Every value is
stored with a digest of its bytes; an entry whose bytes do not match is ignored and rewritten,
never trusted. Deleting the cache folder is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from checker import __version__


def _code_digest() -> str:
    """A digest of the checker's own code and schemas: any change to them is a new cache, so a
    value written by other code (or computed by other logic) is never read back."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256(__version__.encode())
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            h.update(path.relative_to(package).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


# marshal's format is Python's own, so the Python version is part of the key too.
FORMAT = f"checker-cache-3-{_code_digest()}-py{sys.version_info[0]}.{sys.version_info[1]}"


def _prepare(db: sqlite3.Connection) -> None:
    """WAL mode and the tables; the entries of any other checker version or format are dropped.

    Keys already include FORMAT, so other versions' entries are never read; dropping them keeps
    a cache that CI shares across upgrades from growing with every version."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
    row = db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
    if row is None or row[0] != FORMAT:
        db.execute("BEGIN IMMEDIATE")
        try:  # another process may have just done the same: look again inside the transaction
            again = db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if again is None or again[0] != FORMAT:
                db.execute("DROP TABLE IF EXISTS entries")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
            _create_entries(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if row is not None:
            db.execute("VACUUM")  # give the other version's space back
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _create_entries(db)
    db.execute("SELECT count(*) FROM entries LIMIT 1").fetchone()


def _create_entries(db: sqlite3.Connection) -> None:
    # stamp: when the entry was written (seconds since the epoch), for `checker cache prune`.
    db.execute("CREATE TABLE IF NOT EXISTS entries (space TEXT, key TEXT, check_ TEXT, value BLOB, stamp INTEGER, "
               "PRIMARY KEY (space, key))")


def default_dir() -> Path:
    configured = os.environ.get("CHECKER_CACHE_DIR")
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("checker"))


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256(FORMAT.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class Cache:
    """Namespaces of marshalled values: `parsed` (a ParsedFile by path and git blob id), `result` (a raw
    result by input), and the whole-run, inventory and side entries of runcache, incremental, sidecache."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._db: sqlite3.Connection | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = self._open(folder / "cache.sqlite3")
        except (OSError, sqlite3.Error):
            self._db = None  # no cache is slower, never wrong

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            _prepare(db)
        except sqlite3.DatabaseError:
            db.close()
            # A corrupted database file: start afresh rather than trust or crash on it.
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(f"{path}{suffix}").unlink()
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
            _prepare(db)
        return db

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------ raw entries

    def get_many(self, space: str, keys: Iterable[str]) -> dict[str, bytes]:
        """The entries that exist and whose bytes match their digest."""
        if self._db is None:
            return {}
        found: dict[str, bytes] = {}
        keys = list(keys)
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, check_, value FROM entries WHERE space = ? AND key IN ({marks})",
                                        (space, *chunk))
                for key, check, value in rows:
                    if isinstance(value, bytes) and hashlib.sha256(value).hexdigest() == check:
                        found[key] = value
        except sqlite3.Error:
            return found
        return found

    def put_many(self, space: str, items: Mapping[str, bytes]) -> None:
        if self._db is None or not items:
            return
        stamp = int(time.time())
        rows = [(space, key, hashlib.sha256(value).hexdigest(), value, stamp) for key, value in items.items()]
        try:
            with self._transaction():
                self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error:
            pass  # a cache that cannot be written costs time, not correctness

    def prune(self, older_than_days: float) -> tuple[int, int]:
        """Drop entries written more than `older_than_days` ago and give the space back to the file
        system. Returns (entries removed, bytes of the database file afterwards)."""
        if self._db is None:
            return 0, 0
        cutoff = int(time.time() - older_than_days * 86400)
        with self._transaction():
            removed = self._db.execute("DELETE FROM entries WHERE stamp <= ?", (cutoff,)).rowcount
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed, self.size()

    def size(self) -> int:
        """Bytes of the database file (and its write-ahead log)."""
        path = self.folder / "cache.sqlite3"
        return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal")
                   if Path(f"{path}{suffix}").exists())

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------ typed helpers

    def get_marshal(self, space: str, keys: Iterable[str]) -> dict[str, Any]:
        """Plain values (dicts, lists, tuples, str, numbers): marshal reads them several times faster
        than pickle, and only bytes whose digest matches what was written are ever loaded."""
        out = {}
        for key, value in self.get_many(space, keys).items():
            try:
                out[key] = marshal.loads(value)
            except (EOFError, ValueError, TypeError):
                continue
        return out

    def put_marshal(self, space: str, items: Mapping[str, Any]) -> None:
        self.put_many(space, {k: marshal.dumps(v) for k, v in items.items()})


class MemoCache(Cache):
    """Another cache with an in-memory layer on top, for runs that ask for the same entries many
    times (--history asks for nearly the same groups at every sample)."""

    def __init__(self, inner: Cache) -> None:
        self.folder = inner.folder
        self._db = None
        self._inner = inner
        self._memory: dict[tuple[str, str], bytes] = {}

    @property
    def enabled(self) -> bool:
        return True

    def get_many(self, space: str, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        found = {k: self._memory[(space, k)] for k in keys if (space, k) in self._memory}
        rest = [k for k in keys if k not in found]
        if rest:
            more = self._inner.get_many(space, rest)
            self._memory.update(((space, k), v) for k, v in more.items())
            found.update(more)
        return found

    def put_many(self, space: str, items: Mapping[str, bytes]) -> None:
        self._memory.update(((space, k), v) for k, v in items.items())
        self._inner.put_many(space, items)

    def close(self) -> None:
        self._memory.clear()


class NoCache(Cache):
    """--no-cache: the same interface, remembering nothing."""

    def __init__(self) -> None:
        self.folder = Path()
        self._db = None
