"""The results store: one SQLite file, one row per bench or eval result.

Columns hold what people filter on (kind, model, artifact, runtime, device, threads, ...); the
full result and the environment fingerprint are JSON beside them, so nothing is lost when a
result grows a field. Writes are single transactions in WAL mode with a busy timeout: several
processes can record at once, and a killed process leaves either its row or nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from edgekit.errors import EdgekitError

SCHEMA_VERSION = 1
KINDS = ("bench", "eval", "failure", "profile")  # failure: a sweep cell that could not run, with its error;
#                                                  profile: a per-op ledger (edgekit profile)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    created TEXT NOT NULL,
    artifact TEXT NOT NULL,
    artifact_sha256 TEXT,
    model TEXT,
    format TEXT,
    precision TEXT,
    runtime TEXT,
    runtime_version TEXT,
    device TEXT,
    threads INTEGER,
    batch INTEGER,
    dataset TEXT,
    metric TEXT NOT NULL,
    value REAL,
    result TEXT NOT NULL,
    environment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_artifact ON results (artifact, kind);
CREATE INDEX IF NOT EXISTS results_by_model ON results (model, kind);
"""

# The headline number of each kind, stored in ``metric``/``value`` for quick queries.
HEADLINE = {"bench": "median_ms", "eval": "top1", "failure": None, "profile": "sum_ms"}
# A segmenter's or detector's evaluation has no top-1: its headline is the mIoU or COCO's mAP.
TASK_HEADLINE = {"segmentation": "miou", "detection": "map"}


def headline(kind: str, result: dict) -> str | None:
    """The headline metric of one result: its kind's, or its task's (an evaluation's)."""
    return TASK_HEADLINE.get(result.get("task"), HEADLINE[kind]) if kind == "eval" else HEADLINE[kind]


COLUMNS = ("id", "kind", "created", "artifact", "artifact_sha256", "model", "format", "precision", "runtime",
           "runtime_version", "device", "threads", "batch", "dataset", "metric", "value")


class StoreError(EdgekitError):
    """The results database cannot be opened or written."""


def default_path() -> Path:
    """``$EDGEKIT_DB``, else ``$XDG_DATA_HOME/edgekit/results.db`` (``~/.local/share/...``)."""
    from edgekit.files import data_dir

    if os.environ.get("EDGEKIT_DB"):
        return Path(os.environ["EDGEKIT_DB"])
    return data_dir() / "results.db"


class ResultsStore:
    """The results database (``edgekit.Store``): ``record(kind, result, environment)`` one row, ``query(...)``
    newest first. A context manager; the default path is ``default_path()``."""

    def __init__(self, path: str | Path | None = None, read_only: bool = False):
        """``read_only``: for commands that only read (results, compare, report): a store that does not exist is
        one line (a typo is not an empty history), and a read-only file system or file is fine."""
        self.path = Path(path) if path else default_path()
        if read_only:
            self._open_read_only()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 60000")
            self._db.execute("PRAGMA journal_mode = WAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer edgekit (schema {version} > {SCHEMA_VERSION})")
            if version < SCHEMA_VERSION:
                with self._transaction():
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open results database {self.path}: {exc}") from None

    def _open_read_only(self) -> None:
        blocker = next((p for p in self.path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise StoreError(f"cannot read results database {self.path}: {blocker} is a file, not a folder")
        if self.path.is_dir():
            raise StoreError(f"cannot read results database {self.path}: it is a folder (give the .db file)")
        if not self.path.is_file():
            raise StoreError(f"no results store at {self.path} (record results with 'edgekit bench' / 'edgekit eval', "
                             f"or check --db)")
        try:
            # immutable=1 when the folder cannot be written: WAL's -shm file cannot be made there
            writable = os.access(self.path.parent, os.W_OK) and os.access(self.path, os.W_OK)
            uri = f"{self.path.resolve().as_uri()}?mode=ro" + ("" if writable else "&immutable=1")
            self._db = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read results database {self.path}: {exc}") from None
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer edgekit (schema {version} > {SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            raise StoreError(f"{self.path} is not an edgekit results store (schema {version})")

    def _transaction(self):
        return _Transaction(self._db)

    def record(self, kind: str, result: dict, environment: dict) -> int:
        """Store one result; returns its id."""
        if kind not in KINDS:
            raise ValueError(f"unknown result kind {kind!r}")
        row = {
            "kind": kind,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "artifact": str(result.get("artifact", "")),
            "artifact_sha256": result.get("artifact_sha256"),
            "model": result.get("model"),
            "format": result.get("format"),
            "precision": result.get("precision"),
            "runtime": result.get("runtime"),
            "runtime_version": result.get("runtime_version"),
            "device": result.get("device"),
            "threads": result.get("threads"),
            "batch": result.get("batch"),
            "dataset": result.get("data"),
            "metric": headline(kind, result) or kind,
            "value": result.get(headline(kind, result)) if headline(kind, result) else None,
            "result": json.dumps(result, default=str),
            "environment": json.dumps(environment, default=str),
        }
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        try:
            with self._transaction():
                cursor = self._db.execute(f"INSERT INTO results ({names}) VALUES ({marks})", row)
            return int(cursor.lastrowid)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to results database {self.path}: {exc}") from None

    def query(self, kind: str | None = None, model: str | None = None, artifact: str | None = None,
              runtime: str | None = None, device: str | None = None, threads: int | None = None,
              limit: int | None = None) -> list[dict]:
        """Results, newest first, each with its full ``result`` and ``environment`` decoded.

        ``artifact`` matches any part of the path.
        """
        where, args = [], []
        for column, value in (("kind", kind), ("model", model), ("runtime", runtime), ("device", device),
                              ("threads", threads)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if artifact:
            where.append("artifact LIKE ?")
            args.append(f"%{artifact}%")
        sql = f"SELECT {', '.join(COLUMNS)}, result, environment FROM results"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        try:
            rows = self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read results database {self.path}: {exc}") from None
        out = []
        for row in rows:
            item = dict(zip(COLUMNS, row[:len(COLUMNS)]))
            item["result"] = json.loads(row[len(COLUMNS)])
            item["environment"] = json.loads(row[len(COLUMNS) + 1])
            out.append(item)
        return out

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so writers queue instead of failing."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *_):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False
