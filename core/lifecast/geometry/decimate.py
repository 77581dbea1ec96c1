"""Quadric edge-collapse decimation that keeps boundaries and vertex attributes.

The work is done by ``fast-simplification`` (Garland-Heckbert quadrics, the
same library ``trimesh.Trimesh.simplify_quadric_decimation`` wraps) with
``preserve_border=True``: no edge that touches an open boundary collapses, so
a neck cut or the edge of a face scan stays exactly where it was. Its
collapse record is replayed to learn which input vertices merged into each
output vertex, and per-vertex attributes are averaged over those groups.
``benchmarks/bm_decimate.py`` compares it with Open3D's decimator.

UVs are indexed per corner (see :mod:`lifecast.mesh`), so a UV seam is not a
mesh boundary. To keep seams, the mesh is first split into one vertex per
(position, UV) pair: every seam becomes an open boundary, which the
decimator preserves, and the copies on either side of a seam are welded
back afterwards. Seams therefore keep all their vertices; interior UVs are
averaged like any other attribute, which is exact where the parameterisation
is locally linear.

On Linux a mesh of :data:`CHILD_PROCESS_FACES` triangles or more is collapsed,
and the collapse replayed, each in a forked child process (which reads the
arrays without a copy): fast-simplification keeps its buffers in C++ globals
until its next call, and a child's exit is the only way to hand them back.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import LifecastError
from lifecast.mesh import TriMesh

T = TypeVar("T")


@dataclass(frozen=True)
class Decimated:
    """The result of :func:`decimate_arrays`.

    Attributes
    ----------
    vertices
        ``(n', 3) float32`` positions.
    faces
        ``(m', 3) int32`` corner indices.
    mapping
        ``(n,) int64`` output vertex each input vertex merged into (``-1`` for
        input vertices no face used).
    """

    vertices: NDArray[np.float32]
    faces: NDArray[np.int32]
    mapping: NDArray[np.int64]


def decimate_arrays(
    vertices: NDArray[np.floating], faces: NDArray[np.integer], target_faces: int, *, preserve_border: bool = True
) -> Decimated:
    """Reduce a triangle mesh to about ``target_faces`` triangles.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer corner indices.
    target_faces
        Wanted triangle count; with ``preserve_border`` a mesh with a long
        boundary may stop above it.
    preserve_border
        Never collapse an edge that touches an open boundary.

    Returns
    -------
    Decimated
    """
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int32)
    if target_faces >= len(f):
        return Decimated(v.astype(np.float32), f.copy(), np.arange(len(v), dtype=np.int64))
    if len(f) >= CHILD_PROCESS_FACES and sys.platform == "linux":  # fork: the child reads v and f unpickled
        # The collapse and its replay each in a child of its own: their buffers never coexist.
        out_v, out_f, collapses = _in_child_process(_collapse, v, f, int(target_faces), preserve_border)
        mapping = _in_child_process(_replay, v, f, collapses)
    else:
        out_v, out_f, collapses = _collapse(v, f, int(target_faces), preserve_border)
        mapping = _replay(v, f, collapses)
    return Decimated(out_v, out_f, mapping)


#: Meshes from this many triangles are decimated in child processes: fast-simplification keeps its working
#: buffers (about 250 bytes a triangle for the collapse, as much again for its replay) in C++ globals until
#: its next call, so in-process they would stay allocated for the rest of the job (15 GB after a
#: 30M-triangle scan); a child hands them back when it exits.
CHILD_PROCESS_FACES = 1_000_000


def _collapse(
    v: NDArray[np.float64], f: NDArray[np.int32], target_faces: int, preserve_border: bool
) -> tuple[NDArray[np.float32], NDArray[np.int32], NDArray[np.integer]]:
    """fast-simplification's quadric collapse: ``(n', 3) float32`` vertices, ``(m', 3) int32`` faces, collapses."""
    import fast_simplification

    out_v, out_f, collapses = fast_simplification.simplify(
        v, f, target_count=target_faces, return_collapses=True, preserve_border=preserve_border
    )
    return np.ascontiguousarray(out_v, dtype=np.float32), np.ascontiguousarray(out_f, dtype=np.int32), collapses


def _replay(v: NDArray[np.float64], f: NDArray[np.int32], collapses: NDArray[np.integer]) -> NDArray[np.int64]:
    """``(n,) int64`` output vertex of each input vertex, from replaying ``collapses`` (-1: unused vertex)."""
    import fast_simplification

    _, _, mapping = fast_simplification.replay_simplification(v.astype(np.float32), f, collapses)
    return np.asarray(mapping, dtype=np.int64)


def _in_child_process(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a forked child (which reads the arguments without a copy); its result comes back by pipe."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(send, fn, args), name="lifecast-decimate", daemon=True)
    child.start()
    send.close()
    try:
        status, payload = receive.recv()
    except EOFError:
        child.join()
        raise LifecastError(
            f"decimation of {len(args[1]):,} triangles stopped (its process ended with code {child.exitcode}: "
            "killed for memory?); free memory or decimate the scan first"
        ) from None
    finally:
        receive.close()
    child.join()
    if status == "error":
        raise payload
    result: T = payload
    return result


def _child_main(send: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result: tuple[str, Any] = ("ok", fn(*args))
    except BaseException as exc:  # handed to the parent, which raises it
        result = ("error", exc)
    send.send(result)
    send.close()


def group_mean(values: NDArray[np.floating], mapping: NDArray[np.int64], count: int) -> NDArray[np.float32]:
    """Average ``values`` (``(n, c)``) over the input vertices each output vertex absorbed.

    Parameters
    ----------
    values
        ``(n, c)`` per-input-vertex values.
    mapping
        ``(n,) int64`` output vertex of each input vertex, ``-1`` to ignore.
    count
        Number of output vertices.

    Returns
    -------
    ``(count, c) float32``
    """
    ok = mapping >= 0
    target = mapping[ok]
    vals = np.asarray(values, dtype=np.float64)[ok]
    sizes = np.maximum(np.bincount(target, minlength=count), 1).astype(np.float64)
    cols = [np.bincount(target, weights=vals[:, j], minlength=count) / sizes for j in range(vals.shape[1])]
    return np.stack(cols, axis=1).astype(np.float32)


def decimate_mesh(mesh: TriMesh, target_faces: int, *, preserve_border: bool = True) -> TriMesh:
    """Decimate a :class:`~lifecast.mesh.TriMesh`, carrying colours, normals and UVs.

    A mesh with ``target_faces`` or fewer triangles is returned unchanged.
    The texture is carried as is. See the module docstring for how UV seams
    are kept.
    """
    if target_faces >= len(mesh.faces):
        return mesh
    if mesh.uvs is not None and mesh.face_uvs is not None:
        return _decimate_with_uvs(mesh, target_faces, preserve_border=preserve_border)
    result = decimate_arrays(mesh.vertices, mesh.faces, target_faces, preserve_border=preserve_border)
    n = len(result.vertices)
    colors = None if mesh.vertex_colors is None else group_mean(mesh.vertex_colors, result.mapping, n)
    normals = None if mesh.vertex_normals is None else _unit(group_mean(mesh.vertex_normals, result.mapping, n))
    return mesh.with_(vertices=result.vertices, faces=result.faces, vertex_colors=colors, vertex_normals=normals)


def _decimate_with_uvs(mesh: TriMesh, target_faces: int, *, preserve_border: bool) -> TriMesh:
    """Split at UV seams, decimate with borders kept, and weld the seam copies back."""
    assert mesh.uvs is not None and mesh.face_uvs is not None
    m = len(mesh.faces)
    corner_pairs = np.stack([mesh.faces.ravel(), mesh.face_uvs.ravel()], axis=1).astype(np.int64)
    pairs, corner_to_split = np.unique(corner_pairs, axis=0, return_inverse=True)
    split_faces = corner_to_split.reshape(m, 3).astype(np.int32)
    split_position = pairs[:, 0]
    result = decimate_arrays(mesh.vertices[split_position], split_faces, target_faces, preserve_border=True)
    n_split = len(result.vertices)
    uvs = group_mean(mesh.uvs[pairs[:, 1]], result.mapping, n_split)

    # Weld: output split-vertices whose absorbed inputs share a position vertex become one vertex.
    # Seam vertices are never collapsed (they are borders), so each keeps one original position.
    ok = result.mapping >= 0
    representative = np.full(n_split, -1, np.int64)
    representative[result.mapping[ok]] = split_position[ok]
    is_seam = _seam_split_vertices(split_position, n_split, result.mapping)
    key = np.where(is_seam, representative, len(mesh.vertices) + np.arange(n_split))
    _, first, weld = np.unique(key, return_index=True, return_inverse=True)
    positions = result.vertices[first]
    n_out = len(first)

    def carry(values: NDArray[np.floating] | None) -> NDArray[np.float32] | None:
        if values is None:
            return None
        per_split = group_mean(values[split_position], result.mapping, n_split)
        return group_mean(per_split, weld.astype(np.int64), n_out)

    colors = carry(mesh.vertex_colors)
    normals = carry(mesh.vertex_normals)
    del preserve_border  # seams need borders kept; documented in the module docstring
    return mesh.with_(
        vertices=positions.astype(np.float32),
        faces=weld[result.faces].astype(np.int32).reshape(-1, 3),
        vertex_colors=colors,
        vertex_normals=None if normals is None else _unit(normals),
        uvs=uvs,
        face_uvs=result.faces.copy(),
    )


def _seam_split_vertices(
    split_position: NDArray[np.int64], n_split: int, mapping: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """``(n_split,) bool``: output vertices that came from a position shared by several UV copies."""
    copies = np.bincount(split_position)[split_position] > 1
    out = np.zeros(n_split, bool)
    ok = mapping >= 0
    out[mapping[ok & copies]] = True
    return out


def _unit(a: NDArray[np.float32]) -> NDArray[np.float32]:
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return np.divide(a, norm, out=np.zeros_like(a), where=norm > 0)
