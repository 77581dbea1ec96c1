"""Remove everything derived from a subject, and prove it.

:func:`purge_subject` inventories the subject's data (every file under
``SHOW/subjects/<id>/``, which includes its assets and its stage cache; scans
and assets the registry recorded elsewhere in the show; its registry rows),
deletes it, walks the show outside ``subjects/`` for any file that still
holds the same bytes as one of the subject's (a copy made by hand, e.g. into
dailies), and writes one ``subject-purge``
audit row holding the before and after inventories as ids and SHA-256 hashes
only (a path is kept as the hash of its text, since file names can carry a
name). The registry's rows are deleted with ``secure_delete`` on and the file
is vacuumed, so the subject's name is gone from the database file too.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecast.consent.registry import Clock, Registry
from lifecast.consent.show import REGISTRY_NAME, Show, check_subject_id
from lifecast.errors import InputError
from lifecast.pipeline.hashing import hash_file

#: Files below this size are left out of the search for copies: small metadata (a stage's JSON summary) can
#: coincide byte for byte between subjects and carries no likeness. Other subjects' folders are left out too:
#: their own runs make byte-identical generic files (a material layer), and what is in them is theirs.
COPY_CHECK_MIN_BYTES = 1024


@dataclass
class PurgeReport:
    """What a purge removed and what it found left."""

    subject_id: str
    files_removed: int
    bytes_removed: int
    rows: dict[str, list[str]]
    leftovers: list[str] = field(default_factory=list)  #: paths in the show still holding the subject's bytes
    outside_show: list[str] = field(default_factory=list)  #: recorded scans outside the show, not touched

    @property
    def clean(self) -> bool:
        return not self.leftovers


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _inventory(root: Path, base: Path) -> list[dict[str, Any]]:
    """Every file under ``root`` as ``{path_sha256, sha256, bytes}`` (paths relative to ``base``)."""
    if not root.exists():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            rel = p.relative_to(base).as_posix()
            out.append({"path_sha256": _text_hash(rel), "sha256": hash_file(p), "bytes": p.stat().st_size})
    return out


def purge_subject(show: Show, subject_id: str, *, clock: Clock | None = None, actor: str | None = None) -> PurgeReport:
    """Delete every file and registry row derived from ``subject_id``; audit before/after inventories.

    Raises :class:`InputError` when the show has no record and no folder of the subject.
    """
    check_subject_id(subject_id)
    subject_dir = show.subject_dir(subject_id)
    with Registry.for_show(show, clock=clock, actor=actor) as registry:
        known = registry.subject(subject_id) is not None
        if not known and not subject_dir.exists():
            raise InputError(f"nothing to purge: no subject {subject_id!r} in {show.root}")
        sessions = registry.scan_sessions(subject_id)
        assets = registry.assets(subject_id)
        rows = {
            "consents": [c.id for c in registry.consents(subject_id)],
            "scan_sessions": [s.id for s in sessions],
            "assets": [a.id for a in assets],
        }
        elsewhere = [Path(a.path) for a in assets] + [Path(s.scan_path) for s in sessions]
        in_show = [p for p in elsewhere if p.exists() and _inside(p, show.root) and not _inside(p, subject_dir)]
        outside = sorted({str(p) for p in elsewhere if p.exists() and not _inside(p, show.root)})

        before = _inventory(subject_dir, show.root)
        for p in in_show:
            before += _inventory(p, show.root) if p.is_dir() else _inventory_file(p, show.root)
        for p in [*in_show, subject_dir]:
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

        gone = {e["sha256"] for e in before if e["bytes"] >= COPY_CHECK_MIN_BYTES}
        leftovers = [
            p.relative_to(show.root).as_posix()
            for p in sorted(show.root.rglob("*"))
            if p.is_file()
            and p.stat().st_size >= COPY_CHECK_MIN_BYTES
            and not p.name.startswith(REGISTRY_NAME)
            and not _inside(p, show.subjects_root)
            and hash_file(p) in gone
        ]
        after = {
            "subject_dir_exists": subject_dir.exists(),
            "files_left": len(_inventory(subject_dir, show.root)),
            "copies_elsewhere": [_text_hash(p) for p in leftovers],
        }
        details = {
            "before": {"files": before, "rows": rows, "outside_show": [_text_hash(p) for p in outside]},
            "after": after,
        }
        if known:
            registry.delete_subject(subject_id, details)
        else:
            registry.record("subject-purge", subject_id, details)
        registry.compact()
    return PurgeReport(
        subject_id,
        files_removed=len(before),
        bytes_removed=sum(int(e["bytes"]) for e in before),
        rows=rows,
        leftovers=leftovers,
        outside_show=outside,
    )


def _inventory_file(p: Path, base: Path) -> list[dict[str, Any]]:
    rel = p.relative_to(base).as_posix()
    return [{"path_sha256": _text_hash(rel), "sha256": hash_file(p), "bytes": p.stat().st_size}]


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


__all__ = ["PurgeReport", "purge_subject"]
