"""The append-only, hash-chained audit log of a show registry.

Every row holds who did what to which subject's data and when, plus
``prev_hash`` (the previous row's hash) and ``hash``::

    hash = sha256(prev_hash + canonical JSON of (seq, time, actor, action, subject_id, details))

SQLite triggers abort any ``UPDATE`` or ``DELETE`` of a row, so the log
cannot be edited through SQLite's API; editing the file behind SQLite's back
breaks the chain, which :func:`verify_chain` reports. Details hold ids,
counts and hashes only, never a person's name: the log outlives a purge.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The hash before the first row.
GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_id TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_subject ON audit(subject_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be changed'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END;
"""


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    seq: int
    time: str
    actor: str
    action: str
    subject_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


def row_hash(
    prev_hash: str, seq: int, time: str, actor: str, action: str, subject_id: str | None, details: Mapping[str, Any]
) -> str:
    """The chained hash of one row (hex SHA-256)."""
    body = json.dumps([seq, time, actor, action, subject_id, details], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(
    conn: sqlite3.Connection,
    *,
    time: str,
    actor: str,
    action: str,
    subject_id: str | None,
    details: Mapping[str, Any],
) -> AuditEntry:
    """Append one row; the caller holds a write transaction (``BEGIN IMMEDIATE``).

    Holding the write lock makes reading the last hash and inserting the next
    row one step, so concurrent writers never fork the chain.
    """
    if not conn.in_transaction:
        raise RuntimeError("audit.append needs an open write transaction")
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq = (last[0] + 1) if last else 1
    prev = last[1] if last else GENESIS
    plain = json.loads(json.dumps(dict(details), sort_keys=True, default=str))
    digest = row_hash(prev, seq, time, actor, action, subject_id, plain)
    conn.execute(
        "INSERT INTO audit (seq, time, actor, action, subject_id, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
        (seq, time, actor, action, subject_id, json.dumps(plain, sort_keys=True), prev, digest),
    )
    return AuditEntry(seq, time, actor, action, subject_id, plain, prev, digest)


def entries(conn: sqlite3.Connection, subject_id: str | None = None) -> list[AuditEntry]:
    """The log in order, all of it or one subject's rows."""
    sql = "SELECT seq, time, actor, action, subject_id, details, prev_hash, hash FROM audit"
    rows = (
        conn.execute(sql + " WHERE subject_id = ? ORDER BY seq", (subject_id,))
        if subject_id is not None
        else conn.execute(sql + " ORDER BY seq")
    )
    return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]


def verify_chain(conn: sqlite3.Connection) -> list[str]:
    """Problems with the chain (empty when every row links to the previous one and hashes right)."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for e in entries(conn):
        if e.seq != expected_seq:
            problems.append(f"row {e.seq}: expected row {expected_seq} (rows missing)")
        if e.prev_hash != prev:
            problems.append(f"row {e.seq}: does not link to the previous row")
        if row_hash(e.prev_hash, e.seq, e.time, e.actor, e.action, e.subject_id, e.details) != e.hash:
            problems.append(f"row {e.seq}: content does not match its hash (edited)")
        prev = e.hash
        expected_seq = e.seq + 1
    return problems


__all__ = ["GENESIS", "SCHEMA", "AuditEntry", "append", "entries", "row_hash", "verify_chain"]
