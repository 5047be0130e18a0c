"""The gradebook: one SQLite file holding every hand-in's latest result and the history of earlier ones.

Each result is committed in its own transaction in WAL mode, so a batch killed at any moment
keeps everything graded before the kill, and a restarted batch skips it. Only the coordinating
process writes here; workers return plain result dicts.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    name TEXT PRIMARY KEY,          -- the hand-in's folder name
    content_hash TEXT NOT NULL,     -- of the files graded (see batch.content_hash)
    grader_key TEXT NOT NULL,       -- grader version, code and settings that produced the result
    graded_at REAL NOT NULL,        -- unix time
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    result_json TEXT NOT NULL       -- the results contract
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    grader_key TEXT NOT NULL,
    graded_at REAL NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_name ON history (name, graded_at);
"""


@dataclass(frozen=True)
class Entry:
    name: str
    content_hash: str
    grader_key: str
    graded_at: float
    score: float
    max_score: float
    result: dict


class Gradebook:
    """Latest grade per hand-in plus every earlier grade; safe against a kill between any two calls."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed grade survives a power cut too
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def is_current(self, name: str, content_hash: str, grader_key: str) -> bool:
        """Whether `name` was graded from exactly this content by exactly this grader."""
        row = self._db.execute("SELECT content_hash, grader_key FROM grades WHERE name = ?", (name,)).fetchone()
        return row == (content_hash, grader_key)

    def record(self, name: str, content_hash: str, grader_key: str, result: dict) -> None:
        """Store a new grade atomically, moving the previous one (if any) into the history."""
        document = json.dumps(result, ensure_ascii=False)  # key order kept: re-rendered reports are identical
        row = (name, content_hash, grader_key, time.time(), float(result["score"]), float(result["max_score"]), document)
        with self._transaction():
            self._db.execute("INSERT INTO history (name, content_hash, grader_key, graded_at, score, max_score, "
                             "result_json) SELECT name, content_hash, grader_key, graded_at, score, max_score, "
                             "result_json FROM grades WHERE name = ?", (name,))
            self._db.execute("INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?)", row)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def entries(self, names: list[str] | None = None) -> list[Entry]:
        """Latest grades, in name order (only `names` when given)."""
        rows = self._db.execute("SELECT * FROM grades ORDER BY name").fetchall()
        chosen = [Entry(*row[:6], json.loads(row[6])) for row in rows]
        return chosen if names is None else [e for e in chosen if e.name in set(names)]

    def history(self, name: str) -> list[Entry]:
        """Earlier grades of `name`, oldest first (the latest is in `entries`)."""
        rows = self._db.execute("SELECT name, content_hash, grader_key, graded_at, score, max_score, result_json "
                                "FROM history WHERE name = ? ORDER BY id", (name,)).fetchall()
        return [Entry(*row[:6], json.loads(row[6])) for row in rows]
