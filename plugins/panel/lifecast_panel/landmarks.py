"""Named landmarks an artist places on the scan for a template wrap. No Qt.

The template names the landmarks (``nose_tip``, ``chin`` ...; the worker's ``template``
job lists them); the artist selects one vertex of the scan in the DCC and assigns it
to the current name, and the panel moves on to the next name. The picks are written
as the scan landmarks JSON the core reads (``lifecast.wrap``)::

    {"nose_tip": {"vertex": 1234, "position": [x, y, z]}, ...}

``vertex`` is the index of the vertex in the mesh as the DCC holds it, which is the
scan file's vertex order when the scan was imported unchanged; the core uses it and
ignores ``position``. ``position`` is informational and, in every host, in scan-file
coordinates: the vertex's coordinates in the mesh's own space (Maya object space,
Houdini SOP space, Blender local coordinates), not world space, so the object's
transform in the scene (an up-axis fix, a scale) does not enter it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Landmark", "LandmarkSet", "read_landmarks_json", "write_landmarks_json"]


@dataclass(frozen=True)
class Landmark:
    """One placed landmark: the template's ``name``, the scan ``mesh`` in the DCC, a vertex and where it was."""

    name: str
    mesh: str
    vertex: int
    position: tuple[float, float, float]


class LandmarkSet:
    """The template's landmark names, the ones placed so far and the one to place next."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.placed: dict[str, Landmark] = {}
        self.current: str | None = None

    def set_names(self, names: Iterable[str]) -> list[str]:
        """Use ``names`` (template order); drops placed landmarks the template does not know, returns them."""
        self.names = [str(n) for n in names]
        dropped = [n for n in self.placed if n not in self.names]
        for name in dropped:
            del self.placed[name]
        self.current = self.next_unplaced()
        return dropped

    def forget_names(self) -> None:
        """The template changed: its names are unknown until asked again (placed landmarks stay until then)."""
        self.names = []
        self.current = None

    def select(self, name: str) -> None:
        if name not in self.names:
            raise KeyError(f"{name!r} is not one of the template's landmarks")
        self.current = name

    def place(self, landmark: Landmark) -> None:
        """Record ``landmark`` and make the next unplaced name current."""
        if landmark.name not in self.names:
            raise KeyError(f"{landmark.name!r} is not one of the template's landmarks")
        self.placed[landmark.name] = landmark
        self.current = self.next_unplaced(after=landmark.name)

    def remove(self, name: str) -> None:
        self.placed.pop(name, None)
        if name in self.names:
            self.current = name

    def clear(self) -> None:
        self.placed.clear()
        self.current = self.next_unplaced()

    def next_unplaced(self, after: str | None = None) -> str | None:
        """The first name after ``after`` (wrapping around) that has no landmark yet; ``None`` when all are placed."""
        if not self.names:
            return None
        start = self.names.index(after) + 1 if after in self.names else 0
        for name in self.names[start:] + self.names[:start]:
            if name not in self.placed:
                return name
        return None

    def mesh(self) -> str | None:
        """The mesh the landmarks are on (they all are on one), ``None`` before the first."""
        return next(iter(self.placed.values())).mesh if self.placed else None

    def as_json(self) -> dict[str, Any]:
        """``{name: {"vertex": i, "position": [x, y, z]}}`` in template order."""
        order = [n for n in self.names if n in self.placed] + [n for n in self.placed if n not in self.names]
        return {n: _entry(self.placed[n].vertex, self.placed[n].position) for n in order}


def _entry(vertex: int, position: Sequence[float]) -> dict[str, Any]:
    return {"vertex": int(vertex), "position": [round(float(c), 6) for c in position]}


def write_landmarks_json(path: Path, landmarks: dict[str, Any]) -> Path:
    """Write the landmarks JSON to ``path`` through a temporary file and a rename (never half a file)."""
    path = Path(path)
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
    return path


def read_landmarks_json(path: Path) -> dict[str, tuple[int, tuple[float, float, float]]]:
    """The ``{"vertex": i, ...}`` entries of a landmarks file as ``name -> (vertex, position)``.

    Entries given only as ``[x, y, z]`` (no vertex) are skipped: the panel places vertices.
    Raises ``ValueError`` when the file is not a JSON object.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a landmarks file holds one JSON object (name -> landmark)")
    out: dict[str, tuple[int, tuple[float, float, float]]] = {}
    for name, value in data.items():
        if isinstance(value, dict) and isinstance(value.get("vertex"), int):
            pos = value.get("position") or [0.0, 0.0, 0.0]
            xyz = (float(pos[0]), float(pos[1]), float(pos[2])) if len(pos) == 3 else (0.0, 0.0, 0.0)
            out[str(name)] = (int(value["vertex"]), xyz)
    return out
