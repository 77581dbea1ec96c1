"""The show registry: one SQLite file per show (``SHOW/lifecast.db``).

Tables: ``subjects``, ``consents``, ``scan_sessions``, ``assets`` (+
``asset_files``, each file's SHA-256) and ``audit`` (see
:mod:`lifecast.consent.audit`). The file is in WAL mode, so readers never
block the one writer; every write is one ``BEGIN IMMEDIATE`` transaction that
also appends its audit row, so several processes (farm tasks, artists'
shells) writing at once serialise on SQLite's lock and lose nothing
(``busy_timeout`` makes them wait instead of failing). ``secure_delete`` is
on: a purge overwrites the deleted rows' bytes in the file.

The schema version is ``PRAGMA user_version``; :data:`MIGRATIONS` brings an
older file up to date when it is opened.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lifecast.consent import audit
from lifecast.consent.show import Show, check_subject_id
from lifecast.errors import InputError

#: A function returning "now" as an aware datetime; tests inject a fixed one.
Clock = Callable[[], datetime]
ACTOR_ENV = "LIFECAST_USER"
BUSY_TIMEOUT_MS = 30_000

_V1 = (
    """
CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    uses TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    release_ref TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE INDEX consents_subject ON consents(subject_id, project);
CREATE TABLE scan_sessions (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    scan_path TEXT NOT NULL,
    scan_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    path TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE asset_files (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    relpath TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (asset_id, relpath)
);
"""
    + audit.SCHEMA
)

#: Schema scripts; entry ``i`` takes ``user_version`` from ``i`` to ``i + 1``.
MIGRATIONS: tuple[str, ...] = (_V1,)


def local_now() -> datetime:
    """The default clock: now, in the local time zone."""
    return datetime.now().astimezone()


def default_actor() -> str:
    """Who is acting: ``$LIFECAST_USER``, else the login name."""
    return os.environ.get(ACTOR_ENV) or getpass.getuser()


@dataclass(frozen=True)
class Subject:
    id: str
    display_name: str
    created_at: str


@dataclass(frozen=True)
class ConsentRecord:
    """One signed release: a subject allows some uses on one project for a time."""

    id: str
    subject_id: str
    project: str
    uses: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    release_ref: str
    recorded_by: str
    recorded_at: str
    revoked_at: str | None = None
    revoked_by: str | None = None

    def status_on(self, day: date) -> str:
        """``"valid"``, ``"revoked"``, ``"expired"`` or ``"not yet valid"`` on ``day``."""
        if self.revoked_at is not None:
            return "revoked"
        if day < self.valid_from:
            return "not yet valid"
        if self.valid_until is not None and day > self.valid_until:
            return "expired"
        return "valid"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject_id": self.subject_id,
            "project": self.project,
            "uses": list(self.uses),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "release_ref": self.release_ref,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True)
class AssetRecord:
    id: str
    subject_id: str
    project: str
    consent_id: str
    path: str
    manifest_sha256: str
    created_at: str
    files: dict[str, str]


@dataclass(frozen=True)
class ScanSession:
    id: str
    subject_id: str
    project: str
    scan_path: str
    scan_sha256: str
    created_at: str


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _consent_from_row(r: Sequence[Any]) -> ConsentRecord:
    return ConsentRecord(
        id=r[0],
        subject_id=r[1],
        project=r[2],
        uses=tuple(json.loads(r[3])),
        valid_from=date.fromisoformat(r[4]),
        valid_until=date.fromisoformat(r[5]) if r[5] else None,
        release_ref=r[6],
        recorded_by=r[7],
        recorded_at=r[8],
        revoked_at=r[9],
        revoked_by=r[10],
    )


_CONSENT_COLUMNS = (
    "id, subject_id, project, uses, valid_from, valid_until, release_ref, recorded_by, recorded_at, revoked_at, "
    "revoked_by"
)


class Registry:
    """A show's registry file.

    Parameters
    ----------
    path
        The SQLite file (``SHOW/lifecast.db``).
    create
        Create the file (and its folder) when missing; otherwise a missing
        file raises :class:`InputError`.
    clock
        "Now" for timestamps and for "valid today" (tests inject one).
    actor
        Who is acting, recorded in every audit row (default :func:`default_actor`).
    """

    def __init__(
        self, path: Path, *, create: bool = False, clock: Clock | None = None, actor: str | None = None
    ) -> None:
        if not path.is_file():
            if not create:
                raise InputError("no lifecast registry here (create one with `lifecast subject add`)", path)
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.clock: Clock = clock or local_now
        self.actor = actor or default_actor()
        self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA secure_delete = ON")
        self._migrate()

    @classmethod
    def for_show(
        cls, show: Show, *, create: bool = False, clock: Clock | None = None, actor: str | None = None
    ) -> Registry:
        return cls(show.registry_path, create=create, clock=clock, actor=actor)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def today(self) -> date:
        """The local date by this registry's clock."""
        return self.clock().date()

    def _now(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with ``BEGIN IMMEDIATE`` (waits for the lock, never deadlocks)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        if self.schema_version >= len(MIGRATIONS):
            return
        with self._write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have migrated
            for script in MIGRATIONS[version:]:
                for statement in _statements(script):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def _audit(self, conn: sqlite3.Connection, action: str, subject_id: str | None, details: Mapping[str, Any]) -> None:
        audit.append(conn, time=self._now(), actor=self.actor, action=action, subject_id=subject_id, details=details)

    # ------------------------------------------------------------------ subjects

    def add_subject(self, subject_id: str, display_name: str) -> Subject:
        """Register a person; raises :class:`InputError` if the id is taken."""
        check_subject_id(subject_id)
        if not display_name.strip():
            raise InputError("a subject needs a display name (--name)")
        now = self._now()
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM subjects WHERE id = ?", (subject_id,)).fetchone():
                raise InputError(f"subject {subject_id!r} already exists")
            conn.execute("INSERT INTO subjects VALUES (?,?,?)", (subject_id, display_name, now))
            self._audit(conn, "subject-add", subject_id, {})
        return Subject(subject_id, display_name, now)

    def subject(self, subject_id: str) -> Subject | None:
        row = self._conn.execute("SELECT id, display_name, created_at FROM subjects WHERE id = ?", (subject_id,))
        r = row.fetchone()
        return Subject(*r) if r else None

    def subjects(self) -> list[Subject]:
        return [
            Subject(*r) for r in self._conn.execute("SELECT id, display_name, created_at FROM subjects ORDER BY id")
        ]

    def require_subject(self, subject_id: str) -> Subject:
        s = self.subject(subject_id)
        if s is None:
            raise InputError(f"no subject {subject_id!r} in the registry {self.path}")
        return s

    # ------------------------------------------------------------------ consent

    def grant(
        self,
        subject_id: str,
        project: str,
        uses: Iterable[str],
        *,
        valid_from: date | None = None,
        valid_until: date | None = None,
        release_ref: str = "",
    ) -> ConsentRecord:
        """Record a signed release; returns the new record (its id goes into every asset made under it)."""
        from lifecast.consent.policy import check_uses

        use_list = check_uses(uses)
        if not project.strip():
            raise InputError("consent is per project: give the project (--project)")
        start = valid_from or self.today()
        if valid_until is not None and valid_until < start:
            raise InputError(f"consent would end ({valid_until}) before it starts ({start})")
        record = ConsentRecord(
            id=_new_id("c"),
            subject_id=subject_id,
            project=project,
            uses=use_list,
            valid_from=start,
            valid_until=valid_until,
            release_ref=release_ref,
            recorded_by=self.actor,
            recorded_at=self._now(),
        )
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM subjects WHERE id = ?", (subject_id,)).fetchone():
                raise InputError(f"no subject {subject_id!r} in the registry {self.path}")
            conn.execute(
                f"INSERT INTO consents ({_CONSENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    subject_id,
                    project,
                    json.dumps(list(use_list)),
                    start.isoformat(),
                    valid_until.isoformat() if valid_until else None,
                    release_ref,
                    record.recorded_by,
                    record.recorded_at,
                    None,
                    None,
                ),
            )
            self._audit(
                conn,
                "consent-grant",
                subject_id,
                {
                    "consent_id": record.id,
                    "project": project,
                    "uses": list(use_list),
                    "valid_from": start.isoformat(),
                    "valid_until": valid_until.isoformat() if valid_until else None,
                },
            )
        return record

    def revoke(self, subject_id: str, project: str) -> list[ConsentRecord]:
        """Revoke every unrevoked consent of ``subject_id`` for ``project``; returns what was revoked."""
        now = self._now()
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE subject_id = ? AND project = ? AND revoked_at IS NULL",
                (subject_id, project),
            ).fetchall()
            ids = [r[0] for r in rows]
            conn.executemany(
                "UPDATE consents SET revoked_at = ?, revoked_by = ? WHERE id = ?", [(now, self.actor, i) for i in ids]
            )
            self._audit(conn, "consent-revoke", subject_id, {"project": project, "consent_ids": ids})
        return [_consent_from_row(r) for r in rows]

    def consents(self, subject_id: str, project: str | None = None) -> list[ConsentRecord]:
        sql = f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE subject_id = ?"
        args: tuple[str, ...] = (subject_id,)
        if project is not None:
            sql += " AND project = ?"
            args += (project,)
        return [_consent_from_row(r) for r in self._conn.execute(sql + " ORDER BY recorded_at, id", args)]

    def consent(self, consent_id: str) -> ConsentRecord | None:
        r = self._conn.execute(f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE id = ?", (consent_id,)).fetchone()
        return _consent_from_row(r) if r else None

    # ------------------------------------------------------------------ sessions and assets

    def add_scan_session(self, subject_id: str, project: str, scan_path: Path, scan_sha256: str) -> ScanSession:
        session = ScanSession(_new_id("s"), subject_id, project, str(scan_path), scan_sha256, self._now())
        with self._write() as conn:
            conn.execute("INSERT INTO scan_sessions VALUES (?,?,?,?,?,?)", tuple(vars(session).values()))
            self._audit(conn, "scan-session", subject_id, {"session_id": session.id, "scan_sha256": scan_sha256})
        return session

    def scan_sessions(self, subject_id: str) -> list[ScanSession]:
        rows = self._conn.execute("SELECT * FROM scan_sessions WHERE subject_id = ? ORDER BY created_at", (subject_id,))
        return [ScanSession(*r) for r in rows]

    def add_asset(
        self,
        subject_id: str,
        project: str,
        consent_id: str,
        path: Path,
        files: Mapping[str, str],
        manifest_sha256: str,
    ) -> AssetRecord:
        """Record a produced asset and the SHA-256 of each of its files."""
        record = AssetRecord(
            _new_id("a"), subject_id, project, consent_id, str(path), manifest_sha256, self._now(), dict(files)
        )
        with self._write() as conn:
            conn.execute(
                "INSERT INTO assets VALUES (?,?,?,?,?,?,?)",
                (record.id, subject_id, project, consent_id, str(path), manifest_sha256, record.created_at),
            )
            conn.executemany("INSERT INTO asset_files VALUES (?,?,?)", [(record.id, k, v) for k, v in files.items()])
            self._audit(
                conn,
                "asset-produced",
                subject_id,
                {"asset_id": record.id, "consent_id": consent_id, "manifest_sha256": manifest_sha256},
            )
        return record

    def assets(self, subject_id: str) -> list[AssetRecord]:
        out = []
        for r in self._conn.execute("SELECT * FROM assets WHERE subject_id = ? ORDER BY created_at", (subject_id,)):
            files = dict(self._conn.execute("SELECT relpath, sha256 FROM asset_files WHERE asset_id = ?", (r[0],)))
            out.append(AssetRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], files))
        return out

    # ------------------------------------------------------------------ audit

    def record(self, action: str, subject_id: str | None, details: Mapping[str, Any]) -> None:
        """Append one audit row in its own transaction (ids, counts and hashes only in ``details``)."""
        with self._write() as conn:
            self._audit(conn, action, subject_id, details)

    def audit_entries(self, subject_id: str | None = None) -> list[audit.AuditEntry]:
        return audit.entries(self._conn, subject_id)

    def verify_audit(self) -> list[str]:
        """Problems with the audit chain; empty when it is intact."""
        return audit.verify_chain(self._conn)

    # ------------------------------------------------------------------ purge support

    def delete_subject(self, subject_id: str, details: Mapping[str, Any]) -> None:
        """Delete the subject and every row that cascades from it, auditing ``details`` in the same transaction."""
        with self._write() as conn:
            conn.execute("DELETE FROM subjects WHERE id = ?", (subject_id,))
            self._audit(conn, "subject-purge", subject_id, details)

    def compact(self) -> None:
        """Fold the WAL into the file and rewrite it, so deleted rows' bytes are gone from disk."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _statements(script: str) -> Iterator[str]:
    """Split a schema script into complete SQL statements (trigger bodies stay whole)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""
    if buf.strip():
        yield buf.strip()


__all__ = [
    "MIGRATIONS",
    "AssetRecord",
    "Clock",
    "ConsentRecord",
    "Registry",
    "ScanSession",
    "Subject",
    "default_actor",
    "local_now",
]
