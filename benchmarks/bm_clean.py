"""Scan cleaning and QA: lifecast's clean_mesh / qa_report against trimesh's equivalents, step by step.

Input: the ~1.13M-triangle Lee Perry-Smith head built by ``dense_scan.py``
(``bench_out/lps_dense_sub3.ply``, welded, mm), and the same surface
*unwelded*: the GLB subdivided without welding, so every UV-seam vertex is
duplicated (as many scanners export it). Both variants have the same
positions, so the unwelded one welds back to the welded one.

For each variant it prints one table: every lifecast step next to the
trimesh call that does the same job on the same arrays, with the ratio
(trimesh time / lifecast time; above 1 means lifecast is faster). trimesh has
no non-manifold-vertex test, so that row has no peer. Each timing is the best
of ``--repeat`` runs on a fresh object (trimesh caches per mesh). Benchmarks
measure; they never fail.

Run: ``.venv/bin/python benchmarks/bm_clean.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dense_scan import LPS, dense_scan_path
from lifecast.geometry import clean_mesh, qa_report
from lifecast.geometry.clean import merge_duplicate_vertices
from lifecast.geometry.holes import find_holes
from lifecast.geometry.qa import degenerate_face_mask, duplicate_face_mask
from lifecast.geometry.topology import edge_table, face_components, non_manifold_vertices
from lifecast.mesh import TriMesh


def load_welded() -> TriMesh:
    import trimesh

    tm: Any = trimesh.load(dense_scan_path(), process=False)
    colors = np.asarray(tm.visual.vertex_colors)[:, :3].astype(np.float32) / 255.0
    return TriMesh(np.asarray(tm.vertices, np.float32), np.asarray(tm.faces, np.int32), vertex_colors=colors)


def unweld(welded: TriMesh) -> TriMesh:
    """The welded scan with its UV-seam vertices split again, as the subdivided GLB has them."""
    import trimesh

    scene: Any = trimesh.load(LPS / "LeePerrySmith.glb")
    src = next(iter(scene.geometry.values())) if isinstance(scene, trimesh.Scene) else scene
    verts, faces = np.asarray(src.vertices, np.float64), np.asarray(src.faces, np.int64)
    for _ in range(3):
        verts, faces = trimesh.remesh.subdivide(verts, faces)
    # The same weld dense_scan.py does: each split vertex -> its welded vertex.
    _, inverse = np.unique(np.round(verts, 6), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if not np.array_equal(inverse[faces], welded.faces):
        raise SystemExit("the GLB does not subdivide to the benchmark scan; rebuild bench_out/")
    colors = None if welded.vertex_colors is None else welded.vertex_colors[inverse]
    return TriMesh(welded.vertices[inverse], faces.astype(np.int32), vertex_colors=colors)


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def trimesh_clean(mesh: TriMesh) -> Any:
    """trimesh's nearest clean pipeline: process (weld), drop degenerate and duplicate faces, unused vertices, split."""
    import trimesh

    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
    tm.update_faces(tm.nondegenerate_faces())
    tm.update_faces(tm.unique_faces())
    tm.remove_unreferenced_vertices()
    return tm.split(only_watertight=False)


def rows_for(mesh: TriMesh, repeat: int) -> list[tuple[str, float, float | None]]:
    import trimesh

    v, f, n = mesh.vertices, mesh.faces, len(mesh.vertices)

    def fresh() -> trimesh.Trimesh:
        return trimesh.Trimesh(v, f, process=False)

    def trimesh_qa() -> None:
        tm = fresh()
        _ = tm.is_watertight, tm.outline(), tm.nondegenerate_faces(), tm.unique_faces()
        tm.split(only_watertight=False)

    pairs: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
        ("weld vertices (merge_vertices)", lambda: merge_duplicate_vertices(mesh), lambda: fresh().merge_vertices()),
        ("degenerate faces", lambda: degenerate_face_mask(v, f), lambda: fresh().nondegenerate_faces()),
        ("duplicate faces (unique_faces)", lambda: duplicate_face_mask(f), lambda: fresh().unique_faces()),
        ("edge table (is_watertight)", lambda: edge_table(f), lambda: fresh().is_watertight),
        ("holes (outline)", lambda: find_holes(v, f), lambda: fresh().outline()),
        ("components (split)", lambda: face_components(f, n), lambda: fresh().split(only_watertight=False)),
        ("non-manifold vertices", lambda: non_manifold_vertices(f, n), None),
        ("qa_report (trimesh: the above)", lambda: qa_report(mesh, "mm"), trimesh_qa),
        ("clean_mesh (trimesh: process+..+split)", lambda: clean_mesh(mesh, units="mm"), lambda: trimesh_clean(mesh)),
    ]
    return [
        (name, best_of(ours, repeat), None if peer is None else best_of(peer, repeat)) for name, ours, peer in pairs
    ]


def print_table(title: str, rows: list[tuple[str, float, float | None]]) -> None:
    print(f"\n{title}")
    print(f"{'step':42s} {'lifecast s':>10s} {'trimesh s':>10s} {'ratio':>7s}")
    for name, ours, peer in rows:
        peer_s = "-" if peer is None else f"{peer:10.3f}"
        ratio = "-" if peer is None else f"{peer / ours:6.1f}x"
        print(f"{name:42s} {ours:10.3f} {peer_s:>10s} {ratio:>7s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per timing")
    args = parser.parse_args()
    welded = load_welded()
    unwelded = unweld(welded)
    for title, mesh in (("welded", welded), ("unwelded (UV seams split)", unwelded)):
        label = f"{title}: {len(mesh.vertices):,} vertices, {len(mesh.faces):,} triangles"
        print_table(label, rows_for(mesh, args.repeat))


if __name__ == "__main__":
    main()
