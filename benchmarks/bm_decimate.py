"""Decimation: lifecast (fast-simplification + attribute replay) against Open3D's quadric decimator.

Input: the Lee Perry-Smith head scan (../shared/scans), welded, cut open below
the chin so it has a boundary, and Loop-subdivided three times to ~1.1M
triangles (a smooth surface, so decimation error is real, not coplanar
triangles merging). Vertex colours are a smooth function of position, so the
colour carried to each LOD vertex can be checked against the truth.

For each target (100k, 25k, 5k) it prints, for both libraries: time, triangle
count, mean and max distance from the LOD to the original surface (both
directions, Open3D RaycastingScene), boundary edge length kept, and the mean
colour error. Benchmarks measure; they never fail.

Run: ``.venv/bin/python benchmarks/bm_decimate.py [--scans DIR]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.decimate import decimate_mesh
from lifecast.geometry.topology import edge_table
from lifecast.mesh import TriMesh

TARGETS = (100_000, 25_000, 5_000)


def truth_color(vertices: NDArray[np.floating], lo: NDArray[np.floating], size: float) -> NDArray[np.float32]:
    """The smooth colour field painted on the mesh: position scaled into [0, 1]."""
    return ((np.asarray(vertices) - lo) / size).clip(0, 1).astype(np.float32)


def load_head(scans: Path) -> TriMesh:
    import trimesh

    head = trimesh.load(scans / "lee_perry_smith_head" / "obj_2k" / "head.obj", process=False)
    head.merge_vertices(merge_tex=True, merge_norm=True)
    v, f = np.asarray(head.vertices), np.asarray(head.faces)
    # Cut the neck off so the mesh has an open boundary to preserve.
    low = v[:, 1].min() + 0.15 * np.ptp(v[:, 1])
    keep = (v[f][:, :, 1] > low).all(axis=1)
    f = f[keep]
    used = np.unique(f)
    remap = np.full(len(v), -1)
    remap[used] = np.arange(len(used))
    v, f = trimesh.remesh.subdivide_loop(v[used], remap[f], iterations=3)
    lo = v.min(axis=0)
    return TriMesh(v.astype(np.float32), f.astype(np.int32), vertex_colors=truth_color(v, lo, float(np.ptp(v).max())))


def boundary_length(mesh: TriMesh) -> float:
    table = edge_table(mesh.faces)
    b = table.edges[table.counts == 1]
    return float(np.linalg.norm(mesh.vertices[b[:, 0]] - mesh.vertices[b[:, 1]], axis=1).sum())


def surface_distances(original: TriMesh, lod: TriMesh) -> tuple[float, float]:
    """Mean and max (symmetric) distance between the two surfaces."""
    import open3d as o3d
    import trimesh

    def scene(m: TriMesh) -> o3d.t.geometry.RaycastingScene:
        s = o3d.t.geometry.RaycastingScene()
        s.add_triangles(o3d.core.Tensor(m.vertices), o3d.core.Tensor(m.faces.astype(np.uint32)))
        return s

    samples = trimesh.sample.sample_surface(trimesh.Trimesh(lod.vertices, lod.faces, process=False), 100_000, seed=0)[0]
    to_original = scene(original).compute_distance(o3d.core.Tensor(samples.astype(np.float32))).numpy()
    to_lod = scene(lod).compute_distance(o3d.core.Tensor(original.vertices[::5].copy())).numpy()
    return float(to_original.mean()), float(max(to_original.max(), to_lod.max()))


def open3d_decimate(mesh: TriMesh, target: int) -> TriMesh:
    import open3d as o3d

    m = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(mesh.vertices.astype(np.float64)), o3d.utility.Vector3iVector(mesh.faces)
    )
    m.vertex_colors = o3d.utility.Vector3dVector(mesh.vertex_colors.astype(np.float64))
    out = m.simplify_quadric_decimation(target, boundary_weight=1000.0)
    return TriMesh(
        np.asarray(out.vertices, np.float32),
        np.asarray(out.triangles, np.int32),
        vertex_colors=np.asarray(out.vertex_colors, np.float32),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("LIFECAST_SHARED_SCANS", Path(__file__).resolve().parents[2] / "shared" / "scans"))
    parser.add_argument("--scans", type=Path, default=default)
    parser.add_argument("--skip-open3d-below", type=int, default=0, help="skip Open3D for targets below this")
    args = parser.parse_args()
    mesh = load_head(args.scans)
    lo, size = mesh.vertices.min(axis=0), float(np.ptp(mesh.vertices).max())
    base_boundary = boundary_length(mesh)
    print(f"input: {len(mesh.vertices):,} vertices, {len(mesh.faces):,} triangles, bbox {np.ptp(mesh.vertices, 0)}")
    header = f"{'target':>8} {'library':<22} {'time s':>7} {'faces':>8} {'mean err':>9} {'max err':>9} "
    print(header + f"{'boundary kept':>13} {'colour err':>10}")
    for target in TARGETS:
        rows = {}
        runs = [("lifecast/fast-simpl.", lambda t=target: decimate_mesh(mesh, t))]
        if target >= args.skip_open3d_below:
            runs.append(("open3d (bw=1000)", lambda t=target: open3d_decimate(mesh, t)))
        for name, run in runs:
            start = time.perf_counter()
            lod = run()
            seconds = time.perf_counter() - start
            mean_err, max_err = surface_distances(mesh, lod)
            colour_err = float(np.abs(lod.vertex_colors - truth_color(lod.vertices, lo, size)).mean())
            rows[name] = seconds
            print(
                f"{target:>8,} {name:<22} {seconds:>7.2f} {len(lod.faces):>8,} {mean_err:>9.2e} {max_err:>9.2e} "
                f"{boundary_length(lod) / base_boundary:>13.4f} {colour_err:>10.2e}"
            )
        if len(rows) == 2:
            a, b = rows.values()
            print(f"{'':>8} time ratio open3d / lifecast: {b / a:.1f}x")


if __name__ == "__main__":
    main()
