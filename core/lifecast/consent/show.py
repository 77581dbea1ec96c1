"""Where a show keeps its registry and its subjects' data.

Layout::

    SHOW/
      lifecast.db                  the registry (SQLite, WAL): subjects, consent, sessions, assets, audit log
      subjects/<subject-id>/
        scans/                     raw scans and their camera data, as the studio files them
        assets/                    USD assets made from this subject (``lifecast process`` puts them here)
        cache/                     the pipeline's stage cache for this subject's runs
        corrections/               artists' corrections (future)
        adapters/                  per-subject model adapters (future)

Everything derived from a subject lives under its folder, so purge can find
it and nothing of one subject is reachable through another's id:
:meth:`Show.subject_path` refuses any path that leaves the subject's folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lifecast.errors import InputError

REGISTRY_NAME = "lifecast.db"
SUBJECTS_DIR = "subjects"
#: The folders every subject gets.
DATA_KINDS = ("scans", "assets", "cache", "corrections", "adapters", "models")
SHOW_ENV = "LIFECAST_SHOW"
_SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_subject_id(subject_id: str) -> str:
    """Return ``subject_id`` if it is a safe folder name, else raise :class:`InputError`.

    Ids are 1-64 characters of letters, digits, ``_``, ``.`` and ``-``,
    starting with a letter or digit: they name folders, so no ``/`` or ``..``.
    """
    if not _SUBJECT_ID.match(subject_id) or ".." in subject_id:
        raise InputError(
            f"subject id {subject_id!r} is not valid: use 1-64 letters, digits, '_', '.', '-' (starting alphanumeric)"
        )
    return subject_id


@dataclass(frozen=True)
class Show:
    """A show folder: its registry file and its subjects' data folders."""

    root: Path

    @property
    def registry_path(self) -> Path:
        return self.root / REGISTRY_NAME

    @property
    def subjects_root(self) -> Path:
        return self.root / SUBJECTS_DIR

    def has_registry(self) -> bool:
        return self.registry_path.is_file()

    def subject_dir(self, subject_id: str) -> Path:
        """The folder that holds everything derived from ``subject_id``."""
        return self.subjects_root / check_subject_id(subject_id)

    def subject_path(self, subject_id: str, kind: str, *parts: str | Path) -> Path:
        """A path inside one of ``subject_id``'s data folders.

        Raises :class:`InputError` when ``kind`` is not one of :data:`DATA_KINDS`
        or when ``parts`` would leave the subject's folder (``..``, absolute
        paths, symlinks pointing elsewhere): one subject's id never reaches
        another subject's data.
        """
        if kind not in DATA_KINDS:
            raise InputError(f"unknown subject data folder {kind!r}: one of {', '.join(DATA_KINDS)}")
        base = self.subject_dir(subject_id) / kind
        path = base.joinpath(*parts)
        self.require_owned(subject_id, path)
        return path

    def require_owned(self, subject_id: str, path: Path) -> Path:
        """Return ``path`` resolved if it lies inside ``subject_id``'s folder, else raise :class:`InputError`."""
        owner_dir = self.subject_dir(subject_id).resolve()
        resolved = path.resolve()
        if not resolved.is_relative_to(owner_dir):
            other = self.owner_of(resolved)
            whose = f"subject {other!r}'s data" if other else "outside the subject's folder"
            raise InputError(f"refused: this path is {whose}, not subject {subject_id!r}'s", path)
        return resolved

    def owner_of(self, path: Path) -> str | None:
        """The subject whose folder holds ``path``, or ``None``."""
        try:
            rel = path.resolve().relative_to(self.subjects_root.resolve())
        except ValueError:
            return None
        return rel.parts[0] if rel.parts else None


def resolve_show(arg: Path | None = None, env: Mapping[str, str] | None = None) -> Show | None:
    """The show from ``--show`` or ``$LIFECAST_SHOW``, or ``None`` when neither is set.

    Raises :class:`InputError` when a show is named but is not a folder.
    """
    environ = os.environ if env is None else env
    raw = arg if arg is not None else (Path(environ[SHOW_ENV]) if environ.get(SHOW_ENV) else None)
    if raw is None:
        return None
    if raw.exists() and not raw.is_dir():
        raise InputError("the show must be a folder", raw)
    return Show(raw.resolve())


__all__ = ["DATA_KINDS", "REGISTRY_NAME", "SHOW_ENV", "Show", "check_subject_id", "resolve_show"]
