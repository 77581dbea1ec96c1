"""Benchmark: the chart boundary limit of ``lifecast.uv.unwrap``, against xatlas charting unhindered.

The same meshes are unwrapped twice in one run, with ``max_chart_boundary`` at its default and at 0 (no limit:
xatlas' own behaviour), and each layout is measured:

- ``charts``: UV islands;
- ``packed``: the share of the atlas the charts cover (xatlas' utilization);
- ``stretch``: Sander et al.'s L2 stretch of the UV -> surface map, area weighted, with the UVs scaled to the
  surface's total area (1.0 is an isometry);
- ``density p5/p95``: the 5th and 95th area-weighted percentiles of each face's texel density over the mean;
- ``seams``: the 3D length of the UV seams, in units of the square root of the surface area.

Meshes: the bundled sample scan's LOD0 and LOD1 (made by ``lifecast process --stop-after lod``), and, when
../shared/scans is there, the Lee Perry-Smith head decimated to 100k triangles (as in ``bm_uv.py``) and the
Demosthenes bust. Run: ``.venv/bin/python benchmarks/bm_uv_charts.py [--scans DIR]``. Never fails on time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import face_areas, face_areas_uv
from lifecast.uv.unwrap import DEFAULT_MAX_CHART_BOUNDARY, unwrap_arrays

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bm_uv import DEFAULT_SCANS, build_meshes  # noqa: E402

Mesh = tuple[NDArray[np.float32], NDArray[np.int64], int]  # vertices, faces, texture size


def layout_quality(
    vertices: NDArray[np.floating], faces: NDArray[np.integer], uvs: NDArray[np.floating], face_uvs: NDArray[np.integer]
) -> dict[str, float]:
    """Stretch, density spread and seam length of a UV layout (see the module docstring)."""
    p = np.asarray(vertices, np.float64)[faces]
    q = np.asarray(uvs, np.float64)[face_uvs]
    area3 = face_areas(vertices, faces)
    signed2 = (
        (q[:, 1, 0] - q[:, 0, 0]) * (q[:, 2, 1] - q[:, 0, 1]) - (q[:, 2, 0] - q[:, 0, 0]) * (q[:, 1, 1] - q[:, 0, 1])
    ) / 2
    q = q * np.sqrt(area3.sum() / np.abs(signed2).sum())
    signed2 = signed2 * area3.sum() / np.abs(signed2).sum()
    ok = np.abs(signed2) > 1e-12
    a = np.where(ok, signed2, 1.0)[:, None]
    (s1, s2, s3), (u, v) = p.transpose(1, 0, 2), q.transpose(2, 1, 0)
    ds = (s1 * (v[1] - v[2])[:, None] + s2 * (v[2] - v[0])[:, None] + s3 * (v[0] - v[1])[:, None]) / (2 * a)
    dt = (s1 * (u[2] - u[1])[:, None] + s2 * (u[0] - u[2])[:, None] + s3 * (u[1] - u[0])[:, None]) / (2 * a)
    weight = area3 / area3.sum()
    stretch = float(np.sqrt((weight * ((ds * ds).sum(1) + (dt * dt).sum(1)) / 2)[ok].sum()))
    density = np.sqrt(np.abs(signed2) / np.maximum(area3, 1e-30))
    order = np.argsort(density)
    cumulative = np.cumsum(weight[order])
    p5, p95 = (float(density[order][np.searchsorted(cumulative, f)]) for f in (0.05, 0.95))
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    uv_edges = np.concatenate([face_uvs[:, [0, 1]], face_uvs[:, [1, 2]], face_uvs[:, [2, 0]]])
    flip = edges[:, 0] > edges[:, 1]
    edges, uv_edges = (
        np.where(flip[:, None], edges[:, ::-1], edges),
        np.where(flip[:, None], uv_edges[:, ::-1], uv_edges),
    )
    _, inverse, counts = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    starts = np.searchsorted(inverse.ravel()[order], np.flatnonzero(counts == 2))
    first, second = order[starts], order[starts + 1]
    seam = (uv_edges[first] != uv_edges[second]).any(1)
    lengths = np.linalg.norm(
        np.asarray(vertices, np.float64)[edges[first, 0]] - np.asarray(vertices, np.float64)[edges[first, 1]], axis=1
    )
    return {
        "stretch": stretch,
        "density_p5": p5,
        "density_p95": p95,
        "seams": float(lengths[seam].sum() / np.sqrt(area3.sum())),
    }


def sample_lods() -> list[Mesh]:
    """LOD0 and LOD1 of the bundled sample scan, as the pipeline makes them."""
    from lifecast.pipeline.store import load_values

    with tempfile.TemporaryDirectory() as tmp:
        scan = REPO / "sample_scans" / "anny_head" / "anny_head_scan.ply"
        cmd = [sys.executable, "-m", "lifecast.cli", "process", str(scan), "-o", tmp, "--stop-after", "lod", "--json"]
        subprocess.run(cmd, check=True, capture_output=True)
        entry = next((Path(tmp) / ".lifecast" / "cache" / "lod").iterdir())
        lods = load_values(entry)["lods"]
        return [(lods[i].vertices, np.asarray(lods[i].faces, np.int64), 4096 >> i) for i in (0, 1)]


def demosthenes(scans: Path) -> Mesh:
    import trimesh

    mesh = trimesh.load(scans / "demosthenes_bust" / "demosthenes_demosthenes-low-res.obj", force="mesh", process=True)
    return np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.int64), 4096


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    parser.add_argument("--limit", type=float, default=DEFAULT_MAX_CHART_BOUNDARY)
    args = parser.parse_args()

    meshes: dict[str, Mesh] = dict(zip(("sample LOD0", "sample LOD1"), sample_lods(), strict=True))
    if (args.scans / "lee_perry_smith_head").is_dir():
        _, head = build_meshes(args.scans, 100_000)
        meshes["Lee Perry-Smith 100k"] = (head.vertices, np.asarray(head.faces, np.int64), 4096)
    if (args.scans / "demosthenes_bust").is_dir():
        meshes["Demosthenes"] = demosthenes(args.scans)

    print(
        f"{'mesh':<22} {'limit':>5} {'faces':>7} {'seconds':>8} {'charts':>6} {'packed':>6} {'stretch':>7} "
        f"{'density p5/p95':>14} {'seams':>6}"
    )
    for name, (vertices, faces, size) in meshes.items():
        seconds = {}
        for limit in (args.limit, 0.0):
            start = time.perf_counter()
            result = unwrap_arrays(vertices, faces, texture_size=size, max_chart_boundary=limit)
            seconds[limit] = time.perf_counter() - start
            q = layout_quality(vertices, faces, result.uvs, result.face_uvs)
            packed = float(face_areas_uv(result.uvs, result.face_uvs).sum())  # the atlas is the unit square
            print(
                f"{name:<22} {limit:>5.2f} {len(faces):>7,} {seconds[limit]:>8.2f} {result.chart_count:>6} "
                f"{packed:>6.3f} {q['stretch']:>7.3f} {q['density_p5']:>6.3f}/{q['density_p95']:<7.3f} "
                f"{q['seams']:>6.1f}",
                flush=True,
            )
        print(f"{name}: unhindered / limited time ratio x{seconds[0.0] / seconds[args.limit]:.2f}")


if __name__ == "__main__":
    main()
