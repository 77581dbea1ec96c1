"""What a format reader hands back before units, up axis and checks are settled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lifecast.mesh import TriMesh, Units, UpAxis


@dataclass
class ParsedFile:
    """The contents of one scan file, as its format reader found them.

    Attributes
    ----------
    mesh
        Geometry and attributes exactly as stored (no units or axis changes).
    units
        Units the file declares, or None when it says nothing.
    units_basis
        Where ``units`` comes from, for the scan's notes: the file itself, or its format's convention.
    up
        Up axis the file declares, or None when it says nothing.
    texture_path
        The colour texture the file refers to (OBJ ``map_Kd``, PLY
        ``comment TextureFile``), resolved to a path, or None.
    notes
        Human-readable lines about what the reader assumed or dropped.
    """

    mesh: TriMesh
    units: Units | None = None
    units_basis: str = "declared by the file"
    up: UpAxis | None = None
    texture_path: Path | None = None
    notes: list[str] = field(default_factory=list)
