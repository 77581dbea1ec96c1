"""Read and write OBJ files with their polygons kept (quads stay quads).

A wrap must hand back the template's own faces and UV layout, so the template
is read without triangulating: polygons are stored flat, as ``corner_vertices``
/ ``corner_uvs`` (one entry per polygon corner) split by ``polygon_starts``,
which is how USD stores ``faceVertexIndices`` / ``faceVertexCounts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.obj import obj_index
from lifecast.mesh import fan_triangle_corners


@dataclass(frozen=True)
class PolygonMesh:
    """Positions, polygons and indexed UVs as read from an OBJ file.

    Attributes
    ----------
    vertices
        ``(n, 3) float64`` positions.
    polygon_starts
        ``(p + 1,) int64`` offsets: polygon ``j`` has corners
        ``polygon_starts[j]:polygon_starts[j + 1]``.
    corner_vertices
        ``(c,) int64`` vertex index of every corner.
    uvs
        ``(k, 2) float64`` texture coordinates (``k`` may be 0).
    corner_uvs
        ``(c,) int64`` uv index of every corner, ``-1`` where the file gave none.
    """

    vertices: NDArray[np.float64]
    polygon_starts: NDArray[np.int64]
    corner_vertices: NDArray[np.int64]
    uvs: NDArray[np.float64]
    corner_uvs: NDArray[np.int64]

    @property
    def polygon_count(self) -> int:
        return len(self.polygon_starts) - 1

    @property
    def has_uvs(self) -> bool:
        return len(self.uvs) > 0 and bool(np.all(self.corner_uvs >= 0))

    def triangles(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Fan-triangulate the polygons.

        Returns
        -------
        faces
            ``(m, 3) int64`` vertex indices.
        face_uvs
            ``(m, 3) int64`` uv indices (``-1`` where missing).
        polygon_of
            ``(m,) int64`` the polygon each triangle came from.
        """
        sizes = np.diff(self.polygon_starts)
        polygon_of = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes - 2)
        corners = fan_triangle_corners(sizes)
        return self.corner_vertices[corners], self.corner_uvs[corners], polygon_of


def read_polygon_obj(path: Path) -> PolygonMesh:
    """Read ``v``, ``vt`` and ``f`` statements of an OBJ file, keeping polygons.

    Raises
    ------
    InputError
        When a line is malformed or the file has no faces.
    """
    positions: list[list[float]] = []
    uvs: list[list[float]] = []
    sizes: list[int] = []
    corner_v: list[int] = []
    corner_t: list[int] = []
    try:
        fh = path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read template mesh: {exc.strerror}", path) from None
    with fh:
        for number, line in enumerate(fh, start=1):
            words = line.split()
            if not words:
                continue
            key = words[0]
            try:
                if key == "v":
                    positions.append([float(w) for w in words[1:4]])
                    if len(positions[-1]) != 3:
                        raise ValueError
                elif key == "vt":
                    uvs.append([float(w) for w in words[1:3]])
                    if len(uvs[-1]) != 2:
                        raise ValueError
                elif key == "f":
                    if len(words) < 4:
                        raise ValueError
                    for corner in words[1:]:
                        parts = corner.split("/")
                        corner_v.append(obj_index(int(parts[0]), len(positions)))
                        has_t = len(parts) > 1 and parts[1] != ""
                        corner_t.append(obj_index(int(parts[1]), len(uvs)) if has_t else -1)
                    sizes.append(len(words) - 1)
            except (ValueError, IndexError):
                raise InputError(f"OBJ line {number} is malformed: {line.strip()[:80]!r}", path) from None
    if not sizes:
        raise InputError("the template has no faces", path)
    vertices = np.asarray(positions, np.float64).reshape(-1, 3)
    cv = np.asarray(corner_v, np.int64)
    if cv.min() < 0 or cv.max() >= len(vertices):
        raise InputError("a face refers to a vertex that does not exist", path)
    return PolygonMesh(
        vertices=vertices,
        polygon_starts=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        corner_vertices=cv,
        uvs=np.asarray(uvs, np.float64).reshape(-1, 2),
        corner_uvs=np.asarray(corner_t, np.int64),
    )


def write_polygon_obj(path: Path, mesh: PolygonMesh, *, header: str = "") -> None:
    """Write ``mesh`` as OBJ: ``v``, ``vt`` and polygon ``f v/vt`` lines, 1-based.

    Vertex ``i`` of the file is ``mesh.vertices[i]``, so the written mesh keeps
    the template's vertex order.
    """
    lines: list[str] = [f"# {h}" for h in header.splitlines() if h]
    lines.extend(f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices)
    lines.extend(f"vt {u:.6f} {v:.6f}" for u, v in mesh.uvs)
    with_uvs = mesh.has_uvs
    starts = mesh.polygon_starts
    cv = mesh.corner_vertices + 1
    ct = mesh.corner_uvs + 1
    for j in range(mesh.polygon_count):
        a, b = starts[j], starts[j + 1]
        if with_uvs:
            lines.append("f " + " ".join(f"{v}/{t}" for v, t in zip(cv[a:b], ct[a:b], strict=True)))
        else:
            lines.append("f " + " ".join(str(v) for v in cv[a:b]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
