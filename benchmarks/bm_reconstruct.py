"""Point-cloud meshing: screened Poisson against ball pivoting, and Poisson trimming variants.

Inputs (from ``../shared/scans``, or ``LIFECAST_SHARED_SCANS``):

- ``bun000``: one raw Stanford bunny range scan (40k points, metres, open);
- ``head``: 100k points sampled from the closed Lee Perry-Smith head (``obj_2k/head.obj``);
- ``bunny-all``: the 10 raw bunny scans aligned by ``bun.conf`` (362k noisy, overlapping points).

For each method it reports time, triangles, boundary and non-manifold edges,
accuracy (reconstruction to the truth: the source surface for ``head``, the
points otherwise) and completeness (input points to the reconstruction), as
mean and 95th percentile in mean point spacings. The peer is open3d's Poisson
as usually scripted (depth 8, the 1 % least dense vertices trimmed) and its
ball pivoting. Prints a table; never fails on time.

Usage: ``python benchmarks/bm_reconstruct.py [--skip-large]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import open3d as o3d
import trimesh
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from lifecast.geometry.reconstruct import (
    ball_pivoting_mesh,
    estimate_normals,
    mean_spacing,
    mesh_point_cloud,
    poisson_mesh,
)
from lifecast.io import read_scan

SCANS = Path(os.environ.get("LIFECAST_SHARED_SCANS", Path(__file__).resolve().parents[2] / "shared" / "scans"))
BUNNY = SCANS / "stanford_bunny_raw_scans"


def aligned_bunny() -> NDArray[np.float64]:
    """All raw bunny scans in one frame: world = R(q)^T p + t (see the folder's SOURCE.txt)."""
    parts = []
    for line in (BUNNY / "bun.conf").read_text().splitlines():
        words = line.split()
        if words[:1] != ["bmesh"]:
            continue
        t = np.array(words[2:5], dtype=np.float64)
        qx, qy, qz, qw = map(float, words[5:9])
        R = o3d.geometry.get_rotation_matrix_from_quaternion([qw, qx, qy, qz])
        points = read_scan(BUNNY / words[1]).mesh.vertices.astype(np.float64)
        parts.append(points @ R + t)
    return np.concatenate(parts)


def head_samples(count: int = 100_000) -> tuple[NDArray[np.float64], trimesh.Trimesh]:
    mesh = read_scan(SCANS / "lee_perry_smith_head" / "obj_2k" / "head.obj").mesh
    truth = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    points, _ = trimesh.sample.sample_surface(truth, count, seed=0)
    return np.asarray(points), truth


def edge_counts(faces: NDArray[np.int32]) -> tuple[int, int]:
    """(boundary edges, non-manifold edges) of a triangle list."""
    if len(faces) == 0:
        return 0, 0
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum()), int((counts > 2).sum())


def surface_distance(
    target_vertices: NDArray[np.floating], target_faces: NDArray[np.integer], query: NDArray[np.floating]
) -> NDArray[np.float64]:
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor.from_numpy(np.asarray(target_vertices, np.float32)),
        o3d.core.Tensor.from_numpy(np.asarray(target_faces, np.uint32)),
    )
    return scene.compute_distance(o3d.core.Tensor.from_numpy(np.asarray(query, np.float32))).numpy().astype(np.float64)


def measure(
    name: str,
    points: NDArray[np.float64],
    spacing: float,
    build: Callable[[], tuple[NDArray[np.float32], NDArray[np.int32]]],
    truth: trimesh.Trimesh | None,
) -> dict[str, object]:
    start = time.perf_counter()
    vertices, faces = build()
    seconds = time.perf_counter() - start
    boundary, nonmanifold = edge_counts(faces)
    row: dict[str, object] = {"method": name, "s": seconds, "faces": len(faces), "boundary": boundary}
    row["nonmanifold"] = nonmanifold
    if len(faces) == 0:
        return row | {"acc": np.nan, "acc95": np.nan, "comp": np.nan, "comp95": np.nan}
    samples, _ = trimesh.sample.sample_surface(trimesh.Trimesh(vertices, faces, process=False), 50_000, seed=1)
    if truth is not None:
        accuracy = surface_distance(truth.vertices, truth.faces, samples)
    else:
        accuracy, _ = cKDTree(points).query(samples)
    completeness = surface_distance(vertices, faces, points)
    return row | {
        "acc": accuracy.mean() / spacing,
        "acc95": np.percentile(accuracy, 95) / spacing,
        "comp": completeness.mean() / spacing,
        "comp95": np.percentile(completeness, 95) / spacing,
    }


def open3d_mesh_arrays(mesh: o3d.geometry.TriangleMesh) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    mesh.remove_unreferenced_vertices()
    return np.asarray(mesh.vertices, np.float32), np.asarray(mesh.triangles, np.int32)


def peer_poisson(points: NDArray[np.float64], normals: NDArray[np.float32]) -> o3d.geometry.TriangleMesh:
    """Poisson as usually scripted with open3d: depth 8, 1 % least dense vertices removed."""
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.normals = o3d.utility.Vector3dVector(normals.astype(np.float64))
    mesh, density = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(cloud, depth=8)
    mesh.remove_vertices_by_mask(np.asarray(density) < np.quantile(np.asarray(density), 0.01))
    return mesh


def run_case(label: str, points: NDArray[np.float64], truth: trimesh.Trimesh | None) -> list[dict[str, object]]:
    spacing = mean_spacing(points)
    start = time.perf_counter()
    normals = estimate_normals(points, spacing)
    normal_seconds = time.perf_counter() - start
    print(
        f"\n{label}: {len(points)} points, spacing {spacing:.3g}, normals estimated+oriented in {normal_seconds:.1f} s"
    )

    def full(method: str) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
        m = mesh_point_cloud(points.astype(np.float32), method=method)  # type: ignore[arg-type]
        return m.vertices, m.faces

    variants: list[tuple[str, Callable[[], tuple[NDArray[np.float32], NDArray[np.int32]]]]] = [
        ("lifecast poisson (full)", lambda: full("poisson")),
        ("lifecast ball pivoting (full)", lambda: full("ball_pivoting")),
        ("poisson, no trim", lambda: open3d_mesh_arrays(poisson_mesh(points, normals, None, spacing,
                                                                     max_distance=None, density_quantile=0.0))),
        ("poisson, density trim 1% only", lambda: open3d_mesh_arrays(poisson_mesh(points, normals, None, spacing,
                                                                  max_distance=None, density_quantile=0.01))),
        ("poisson, distance + density 1%", lambda: open3d_mesh_arrays(poisson_mesh(points, normals, None, spacing,
                                                                   density_quantile=0.01))),
        ("peer: open3d poisson depth 8", lambda: open3d_mesh_arrays(peer_poisson(points, normals))),
        ("peer: open3d ball pivoting", lambda: open3d_mesh_arrays(ball_pivoting_mesh(points, normals, None, spacing))),
    ]  # fmt: skip
    return [measure(name, points, spacing, build, truth) for name, build in variants]


def print_table(label: str, rows: list[dict[str, object]]) -> None:
    head = f"{'method':32s} {'s':>6s} {'faces':>8s} {'bndry':>7s} {'nonmf':>6s} {'acc':>6s} {'acc95':>6s}"
    print(head + f" {'comp':>6s} {'comp95':>6s}   ({label}; distances in spacings)")
    for r in rows:
        print(
            f"{r['method']!s:32s} {r['s']:6.2f} {r['faces']:8d} {r['boundary']:7d} {r['nonmanifold']:6d} "
            f"{r['acc']:6.2f} {r['acc95']:6.2f} {r['comp']:6.2f} {r['comp95']:6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-large", action="store_true", help="skip the 362k-point merged bunny")
    args = parser.parse_args()
    bun000 = read_scan(BUNNY / "bun000.ply").mesh.vertices.astype(np.float64)
    head_points, head_truth = head_samples()
    cases = [("bun000 (raw range scan)", bun000, None), ("head (closed, sampled)", head_points, head_truth)]
    if not args.skip_large:
        cases.append(("bunny-all (10 aligned raw scans)", aligned_bunny(), None))
    for label, points, truth in cases:
        print_table(label, run_case(label, points, truth))


if __name__ == "__main__":
    main()
