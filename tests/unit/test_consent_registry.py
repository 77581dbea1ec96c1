"""The show registry: schema, consent records, the append-only hash-chained audit log, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lifecast.consent.registry import MIGRATIONS, Registry
from lifecast.errors import InputError

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _open(path: Path, create: bool = True) -> Registry:
    return Registry(path, create=create, clock=lambda: NOW, actor="tester")


def test_new_registry_is_wal_at_the_latest_schema(tmp_path: Path) -> None:
    with _open(tmp_path / "show" / "lifecast.db") as reg:
        assert reg.schema_version == len(MIGRATIONS)
        mode = sqlite3.connect(reg.path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_missing_registry_is_not_created_silently(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no lifecast registry"):
        Registry(tmp_path / "lifecast.db")
    assert not (tmp_path / "lifecast.db").exists()


def test_subjects_and_consent_round_trip(tmp_path: Path) -> None:
    with _open(tmp_path / "lifecast.db") as reg:
        reg.add_subject("ana", "Ana Example")
        with pytest.raises(InputError, match="already exists"):
            reg.add_subject("ana", "Someone Else")
        with pytest.raises(InputError, match="not valid"):
            reg.add_subject("../evil", "x")
        c = reg.grant(
            "ana", "P1", ["digital-double", "texture-training"], valid_until=date(2027, 12, 31), release_ref="R1"
        )
        assert reg.consent(c.id) == c
        assert c.valid_from == NOW.date() and c.recorded_by == "tester"
        with pytest.raises(InputError, match="unknown use"):
            reg.grant("ana", "P1", ["everything"])
        with pytest.raises(InputError, match="no subject"):
            reg.grant("bob", "P1", ["digital-double"])
        revoked = reg.revoke("ana", "P1")
        assert [r.id for r in revoked] == [c.id]
        again = reg.consent(c.id)
        assert again is not None and again.revoked_at is not None and again.status_on(NOW.date()) == "revoked"
        actions = [e.action for e in reg.audit_entries("ana")]
        assert actions == ["subject-add", "consent-grant", "consent-revoke"]
        assert all("Ana" not in str(e.details) for e in reg.audit_entries()), "no names in the audit log"


def test_audit_rows_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    with _open(tmp_path / "lifecast.db") as reg:
        reg.add_subject("ana", "Ana Example")
        reg.record("note", "ana", {"n": 1})
    conn = sqlite3.connect(tmp_path / "lifecast.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()
    with _open(tmp_path / "lifecast.db", create=False) as reg:
        assert len(reg.audit_entries()) == 2 and reg.verify_audit() == []


def test_editing_the_file_behind_sqlite_breaks_the_chain(tmp_path: Path) -> None:
    with _open(tmp_path / "lifecast.db") as reg:
        reg.add_subject("ana", "Ana Example")
        reg.grant("ana", "P1", ["digital-double"])
        reg.record("note", "ana", {"n": 1})
    conn = sqlite3.connect(tmp_path / "lifecast.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute('UPDATE audit SET details = \'{"project": "P9"}\' WHERE seq = 2')
    conn.close()
    with _open(tmp_path / "lifecast.db", create=False) as reg:
        problems = reg.verify_audit()
    assert any("row 2" in p and "edited" in p for p in problems)


def _writer(path: str, worker: int, count: int) -> None:
    reg = Registry(Path(path), clock=lambda: datetime.now(UTC), actor=f"w{worker}")
    for i in range(count):
        reg.grant("ana", f"P{worker}", ["digital-double"], release_ref=f"{worker}-{i}")
        reg.record("note", "ana", {"worker": worker, "i": i})
    reg.close()


def test_concurrent_writers_lose_nothing_and_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "lifecast.db"
    with _open(path) as reg:
        reg.add_subject("ana", "Ana Example")
    workers, count = 4, 25
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with _open(path, create=False) as reg:
        consents = reg.consents("ana")
        assert len(consents) == workers * count
        assert {c.release_ref for c in consents} == {f"{w}-{i}" for w in range(workers) for i in range(count)}
        rows = reg.audit_entries()
        assert len(rows) == 1 + 2 * workers * count
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert reg.verify_audit() == []
