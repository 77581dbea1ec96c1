"""The scan's landmarks JSON as the panels write it. No bpy.

One JSON object, landmark name -> ``{"vertex": i, "position": [x, y, z]}``
(the format ``lifecast.wrap.landmarks`` reads): ``vertex`` is the index of a
vertex of the scan file as read and wins; ``position`` is informational, in the
scan file's coordinates and units. Writes go to a temporary file that is then
renamed, so the worker never reads half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["LandmarkError", "landmark_entry", "read_landmarks", "remove_landmark", "set_landmark"]


class LandmarkError(ValueError):
    """A landmark name or file that cannot be used; the message says why."""


def landmark_entry(vertex: int, position: Sequence[float]) -> dict[str, Any]:
    """``{"vertex": vertex, "position": [x, y, z]}``; ``position`` is ``(3,)`` floats."""
    if int(vertex) < 0:
        raise LandmarkError(f"a vertex index cannot be negative, got {vertex}")
    xyz = [float(c) for c in position]
    if len(xyz) != 3:
        raise LandmarkError(f"a landmark position has 3 coordinates, got {len(xyz)}")
    return {"vertex": int(vertex), "position": [round(c, 6) for c in xyz]}


def read_landmarks(path: str | Path) -> dict[str, Any]:
    """The landmarks in ``path`` (an empty dict when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LandmarkError(f"cannot read the landmarks file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise LandmarkError(f"the landmarks file {path} must hold one JSON object (name -> landmark)")
    return data


def _write(path: Path, landmarks: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(landmarks, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_landmark(path: str | Path, name: str, vertex: int, position: Sequence[float]) -> dict[str, Any]:
    """Add or replace landmark ``name`` in the file at ``path`` (created if needed); returns every landmark."""
    name = name.strip()
    if not name:
        raise LandmarkError("give the landmark a name (one of the template's landmark names)")
    landmarks = read_landmarks(path)
    landmarks[name] = landmark_entry(vertex, position)
    _write(Path(path), landmarks)
    return landmarks


def remove_landmark(path: str | Path, name: str) -> dict[str, Any]:
    """Remove landmark ``name`` from the file (no error when it is not there); returns what is left."""
    landmarks = read_landmarks(path)
    if landmarks.pop(name.strip(), None) is not None:
        _write(Path(path), landmarks)
    return landmarks
