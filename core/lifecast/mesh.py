"""The array containers every stage passes along.

Arrays in, arrays out: algorithms in :mod:`lifecast.geometry`, :mod:`lifecast.uv`
and :mod:`lifecast.bake` take and return plain numpy arrays. These thin frozen
dataclasses only bundle those arrays for the pipeline and the readers.

Conventions
-----------
- ``vertices``: ``(n, 3) float32`` positions.
- ``faces``: ``(m, 3) int32`` triangle corner indices into ``vertices``;
  ``(0, 3)`` for a point cloud.
- ``vertex_colors``: ``(n, 3) float32`` in [0, 1], *sRGB-encoded* (as scanners
  and PLY files store them).
- ``vertex_normals``: ``(n, 3) float32`` unit vectors, or ``None``.
- UVs are indexed separately from positions, as in OBJ and USD faceVarying
  primvars, so UV seams never split a vertex: ``uvs`` is ``(k, 2) float32`` and
  ``face_uvs`` is ``(m, 3) int32`` indices into ``uvs``, one per face corner.
  ``v`` points up (OpenGL / USD convention, image row 0 is at ``v = 1``).
- ``texture``: ``(h, w, 3) uint8`` sRGB image sampled through the UVs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scipy import sparse

Units = Literal["mm", "cm", "m"]
UpAxis = Literal["y", "z"]

#: Metres per unit, for the units lifecast accepts.
METERS_PER_UNIT: dict[str, float] = {"mm": 0.001, "cm": 0.01, "m": 1.0}


@dataclass(frozen=True)
class TriMesh:
    """A triangle mesh (or, with no faces, a point cloud) with optional attributes.

    See the module docstring for array shapes and conventions.
    """

    vertices: NDArray[np.float32]
    faces: NDArray[np.int32]
    vertex_colors: NDArray[np.float32] | None = None
    vertex_normals: NDArray[np.float32] | None = None
    uvs: NDArray[np.float32] | None = None
    face_uvs: NDArray[np.int32] | None = None
    texture: NDArray[np.uint8] | None = None

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices)
        f = np.asarray(self.faces)
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must be (n, 3), got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must be (m, 3), got {f.shape}")
        n = len(v)
        for name in ("vertex_colors", "vertex_normals"):
            a = getattr(self, name)
            if a is not None and np.asarray(a).shape != (n, 3):
                raise ValueError(f"{name} must be ({n}, 3), got {np.asarray(a).shape}")
        if (self.uvs is None) != (self.face_uvs is None):
            raise ValueError("uvs and face_uvs must be given together")
        if self.face_uvs is not None and np.asarray(self.face_uvs).shape != f.shape:
            raise ValueError(f"face_uvs must be {f.shape}, got {np.asarray(self.face_uvs).shape}")

    @property
    def is_point_cloud(self) -> bool:
        """True when there are no faces."""
        return len(self.faces) == 0

    @property
    def has_uvs(self) -> bool:
        return self.uvs is not None

    def with_(self, **changes: object) -> TriMesh:
        """A copy with some fields replaced (dataclasses.replace)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def arrays(self) -> dict[str, NDArray[np.generic]]:
        """The fields that are set, by name, for hashing and caching."""
        out: dict[str, NDArray[np.generic]] = {}
        for name in ("vertices", "faces", "vertex_colors", "vertex_normals", "uvs", "face_uvs", "texture"):
            a = getattr(self, name)
            if a is not None:
                out[name] = np.asarray(a)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[np.generic]]) -> TriMesh:
        """Inverse of :meth:`arrays`."""
        return cls(**{k: arrays[k] for k in arrays})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scan:
    """A mesh as read from disk, plus what the reader learned or assumed.

    ``mesh`` is in the scan's *declared* units and up axis (``units``, ``up``);
    the ingest stage converts it to the asset's units and Y up.
    ``notes`` are human-readable lines about what was assumed (shown to the
    artist and written into the QA report).
    """

    mesh: TriMesh
    source: str
    units: Units
    up: UpAxis
    notes: tuple[str, ...] = field(default_factory=tuple)


def empty_faces() -> NDArray[np.int32]:
    """A ``(0, 3) int32`` face array, for point clouds."""
    return np.zeros((0, 3), dtype=np.int32)


def fan_triangle_corners(sizes: NDArray[np.integer]) -> NDArray[np.int64]:
    """Corner positions of the fan triangulation of polygons stored flat, polygon after polygon.

    Polygon ``(c0, c1, ..., ck)`` becomes ``(c0, c1, c2), (c0, c2, c3), ...`` (a quad is cut along its
    ``c0``-``c2`` diagonal), the way both the wrap's triangles and the USD asset's polygons are related.

    Parameters
    ----------
    sizes
        ``(p,)`` corner count of each polygon; a polygon of fewer than 3 corners (a degenerate face in a
        USD file) gives no triangle.

    Returns
    -------
    ``(m, 3) int64`` positions into the flat corner arrays, ``m = max(sizes - 2, 0).sum()``, polygon after
    polygon: index the corner vertex (or corner UV) array with it to get the triangles.
    """
    sizes = np.asarray(sizes, np.int64)
    n_tris = np.maximum(sizes - 2, 0)
    first = np.repeat(np.cumsum(sizes) - sizes, n_tris)
    local = np.arange(int(n_tris.sum()), dtype=np.int64) - np.repeat(np.cumsum(n_tris) - n_tris, n_tris)
    return np.stack([first, first + local + 1, first + local + 2], axis=1)


def triangle_adjacency(faces: NDArray[np.integer], n_vertices: int) -> sparse.csr_matrix:
    """``(n, n) float64`` vertex adjacency of a triangle mesh, each triangle linking its corners both ways.

    Entry ``(i, j)`` counts the triangles with edge ``i-j``: 2 inside a manifold surface, 1 on an open
    boundary, a symmetric weighting that the 1-ring averages built on it (smoothed normals, cavity heights)
    accept. Unused vertices have empty rows.
    """
    from scipy import sparse

    f = np.asarray(faces, np.int64)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2], f[:, 1], f[:, 2], f[:, 0]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0], f[:, 0], f[:, 1], f[:, 2]])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_vertices, n_vertices))
