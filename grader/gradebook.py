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
CREATE TABLE IF NOT EXISTS inputs (
    name TEXT NOT NULL,             -- the hand-in
    subject TEXT NOT NULL,          -- a check id, or "" for the whole hand-in
    fingerprint TEXT NOT NULL,      -- of what that check read in the latest grade (grader/overrides.py)
    PRIMARY KEY (name, subject)
);
CREATE TABLE IF NOT EXISTS overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- append-only: the latest entry per key wins, an undo is an entry too
    kind TEXT NOT NULL,             -- "check", "handin" (an adjustment of the total) or "pair" (a similarity decision)
    name TEXT NOT NULL,             -- the hand-in (a pair: the first of the two)
    subject TEXT NOT NULL,          -- the check id; "" for "handin"; the second hand-in for "pair"
    score REAL,                     -- the new score, the points added, or NULL: no change (undo, "no action")
    undo INTEGER NOT NULL,          -- 1: withdraws the decision before it
    comment TEXT NOT NULL,          -- to the student
    note TEXT NOT NULL,             -- private
    by TEXT NOT NULL,
    at REAL NOT NULL,               -- unix time
    fingerprint TEXT NOT NULL       -- of what was reviewed: a later grade of other inputs makes the entry stale
);
CREATE INDEX IF NOT EXISTS overrides_by_key ON overrides (kind, name, subject, id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value_json TEXT NOT NULL
);
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


@dataclass(frozen=True)
class Decision:
    """One stored review decision (a row of `overrides`)."""

    id: int
    kind: str
    name: str
    subject: str
    score: float | None
    undo: bool
    comment: str
    note: str
    by: str
    at: float
    fingerprint: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.name, self.subject


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

    def record(self, name: str, content_hash: str, grader_key: str, result: dict,
               inputs: dict[str, str] | None = None) -> None:
        """Store a new grade atomically, moving the previous one (if any) into the history; `inputs`
        (subject -> fingerprint of what it read) replace the hand-in's earlier ones in the same transaction."""
        document = json.dumps(result, ensure_ascii=False)  # key order kept: re-rendered reports are identical
        row = (name, content_hash, grader_key, time.time(), float(result["score"]), float(result["max_score"]), document)
        with self._transaction():
            self._db.execute("INSERT INTO history (name, content_hash, grader_key, graded_at, score, max_score, "
                             "result_json) SELECT name, content_hash, grader_key, graded_at, score, max_score, "
                             "result_json FROM grades WHERE name = ?", (name,))
            self._db.execute("INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            if inputs is not None:
                self._db.execute("DELETE FROM inputs WHERE name = ?", (name,))
                self._db.executemany("INSERT INTO inputs VALUES (?, ?, ?)",
                                     [(name, subject, print_) for subject, print_ in sorted(inputs.items())])

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

    def inputs(self, name: str) -> dict[str, str]:
        """Subject -> fingerprint of what it read, for the latest grade of `name`."""
        rows = self._db.execute("SELECT subject, fingerprint FROM inputs WHERE name = ?", (name,)).fetchall()
        return dict(rows)

    def add_decisions(self, decisions: list[Decision]) -> None:
        """Append review decisions in one transaction: all are stored, or none (their ids are assigned here)."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO overrides (kind, name, subject, score, undo, comment, note, by, at, fingerprint) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(d.kind, d.name, d.subject, d.score, int(d.undo), d.comment, d.note, d.by, d.at, d.fingerprint)
                 for d in decisions])

    def decisions(self) -> list[Decision]:
        """Every review decision ever stored, oldest first (the full history)."""
        rows = self._db.execute("SELECT id, kind, name, subject, score, undo, comment, note, by, at, fingerprint "
                                "FROM overrides ORDER BY id").fetchall()
        return [Decision(*row[:5], bool(row[5]), *row[6:]) for row in rows]

    def set_meta(self, key: str, value: object) -> None:
        """Remember a setting beside the grades (how the class pages were rendered), as JSON."""
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def meta(self, key: str, default: object = None) -> object:
        row = self._db.execute("SELECT value_json FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default
