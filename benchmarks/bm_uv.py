"""Benchmark: UV unwrap (lifecast vs trimesh's default xatlas call) and albedo transfer at 2K / 4K.

Meshes come from the Lee Perry-Smith head in ../shared/scans (17.7k triangles, 2K colour map):
- source: the head subdivided three times (1.13M triangles) with its UVs and colour map;
- target: the subdivided head with seams merged, decimated to 100k triangles (fast-simplification).

Run: ``.venv/bin/python benchmarks/bm_uv.py [--scans DIR] [--sizes 2048 4096]``.
Prints a table; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from lifecast.bake import transfer_albedo
from lifecast.mesh import TriMesh
from lifecast.uv import texel_density, udim_layout, unwrap_arrays

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SCANS = Path(os.environ.get("LIFECAST_SHARED_SCANS", REPO.parent / "shared" / "scans"))


def build_meshes(scans: Path, target_faces: int) -> tuple[TriMesh, TriMesh]:
    """The 1M-triangle textured source and the decimated target (no UVs yet)."""
    import fast_simplification
    import trimesh
    from PIL import Image

    folder = scans / "lee_perry_smith_head" / "obj_2k"
    head = trimesh.load(folder / "head.obj", process=False)
    texture = np.asarray(Image.open(folder / "Map-COL.jpg").convert("RGB"))
    vertices, faces = np.asarray(head.vertices), np.asarray(head.faces)
    attributes = {"uv": np.asarray(head.visual.uv)}
    for _ in range(3):
        vertices, faces, attributes = trimesh.remesh.subdivide(vertices, faces, vertex_attributes=attributes)
    source = TriMesh(
        vertices.astype(np.float32),
        faces.astype(np.int32),
        uvs=attributes["uv"].astype(np.float32),
        face_uvs=faces.astype(np.int32),
        texture=texture,
    )
    merged = trimesh.Trimesh(vertices, faces, process=True)  # merges the UV-seam copies of each vertex
    v, f = fast_simplification.simplify(
        np.asarray(merged.vertices, np.float32), np.asarray(merged.faces), target_count=target_faces
    )
    return source, TriMesh(np.asarray(v, np.float32), np.asarray(f, np.int32))


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS)
    parser.add_argument("--target-faces", type=int, default=100_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    args = parser.parse_args()

    import trimesh

    source, target = build_meshes(args.scans, args.target_faces)
    print(
        f"source {len(source.faces):,} triangles (textured), "
        f"target {len(target.faces):,} triangles, {os.cpu_count()} CPUs"
    )
    rows: list[tuple[str, float, str]] = []

    # The default (one charting pass, chart_iterations=0) and xatlas' own refinement pass, side by side.
    result, t_ours = timed(unwrap_arrays, target.vertices, target.faces, texture_size=4096)
    rows.append(
        (
            "lifecast.uv.unwrap 4K (default: chart_iterations=0)",
            t_ours,
            f"{result.chart_count} charts, gutter {result.padding_px:.1f}px",
        )
    )
    refined, t_refined = timed(unwrap_arrays, target.vertices, target.faces, texture_size=4096, chart_iterations=1)
    rows.append(
        (
            "lifecast.uv.unwrap 4K (chart_iterations=1)",
            t_refined,
            f"{refined.chart_count} charts, gutter {refined.padding_px:.1f}px",
        )
    )
    peer = trimesh.Trimesh(target.vertices, target.faces, process=False)
    _, t_peer = timed(peer.unwrap)
    rows.append(("trimesh Trimesh.unwrap() (xatlas defaults)", t_peer, "no resolution / padding set"))

    uv_target = target.with_(uvs=result.uvs, face_uvs=result.face_uvs)
    density = texel_density(uv_target, 4096)
    rows.append(
        (
            "texel density 4K (px/unit, p5/p50/p95)",
            0.0,
            f"{density['p5']:.0f} / {density['p50']:.0f} / {density['p95']:.0f}",
        )
    )
    _, t_udim = timed(udim_layout, uv_target, 4)
    rows.append(("lifecast.uv.udim_layout 4 tiles", t_udim, ""))
    for size in args.sizes:
        tiles, t_bake = timed(transfer_albedo, source, uv_target, size=size)
        coverage = np.mean([t.coverage.mean() for t in tiles.values()])
        rows.append((f"lifecast.bake.transfer_albedo {size}px", t_bake, f"coverage {coverage:.1%}"))

    width = max(len(name) for name, _, _ in rows)
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:8.2f} s  {note}")
    print(f"unwrap ratio lifecast / trimesh: {t_ours / t_peer:.2f} (chart_iterations=1: {t_refined / t_peer:.2f})")


if __name__ == "__main__":
    main()
