"""Benchmark: the baking engine on a 1.13M-triangle scan onto its ~20k-triangle production mesh.

Inputs: the dense Lee Perry-Smith head (``benchmarks/dense_scan.py``: subdivided three times and
displaced by its own 4K displacement map, in mm) and a production mesh made from it the way the
pipeline makes one (``lifecast.geometry.build_lods`` to ~20k triangles, ``lifecast.uv.unwrap``).

Measured, side by side in one run:

- the UV rasterizer: numpy (``rasterize_uv``) against torch (``rasterize_uv_torch``) on the CPU;
- the ray engine: open3d's RaycastingScene (Embree) against NVIDIA Warp's mesh BVH on the CPU,
  on the same rays (both directions along the low normal);
- ``bake_maps`` normal + displacement at 2K and 4K: seconds per step and peak RSS.

- Blender Cycles (the peer artists use) on the same high/low pair and cage, when
  ``.venv-blender`` exists (``python3.11 -m venv .venv-blender && .venv-blender/bin/pip install
  bpy==5.0.1``): bake time against lifecast's normal-map time, and the mean angle between the two
  tangent-space normal maps on covered texels (``benchmarks/blender_bake.py`` runs inside Blender).

Run: ``.venv/bin/python benchmarks/bm_bake.py [--sizes 2048 4096] [--faces 20000]``.
Prints tables; never fails on time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dense_scan import dense_scan_path
from lifecast.bake import bake_maps
from lifecast.geometry import build_lods
from lifecast.io import read_scan
from lifecast.mesh import TriMesh
from lifecast.uv import unwrap


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def production_mesh(high: TriMesh, faces: int, texture_size: int) -> TriMesh:
    """Decimate the scan to about ``faces`` triangles and unwrap it, as the pipeline does."""
    low = build_lods(high.with_(vertex_colors=None), [faces])[0]
    return unwrap(low, texture_size=texture_size)


def bench_rasterizers(low: TriMesh, size: int) -> dict[str, float]:
    from lifecast.bake.raster_torch import rasterize_uv_torch
    from lifecast.bake.rasterize import rasterize_uv

    assert low.uvs is not None and low.face_uvs is not None
    corners = low.uvs[low.face_uvs]
    start = time.perf_counter()
    face_np, _ = rasterize_uv(corners, size)
    t_numpy = time.perf_counter() - start
    start = time.perf_counter()
    raster = rasterize_uv_torch(corners, size)
    t_torch = time.perf_counter() - start
    covered = face_np >= 0
    agree = float(np.mean(face_np[covered] == raster.face.numpy()[covered]))
    return {"numpy": t_numpy, "torch": t_torch, "agree": agree}


def bench_rays(high: TriMesh, low: TriMesh, size: int) -> dict[str, float]:
    from lifecast.bake.correspond import Open3DRays, WarpRays
    from lifecast.bake.rasterize import rasterize_uv
    from lifecast.bake.sampling import interpolate_corners
    from lifecast.bake.tangents import vertex_normals

    assert low.uvs is not None and low.face_uvs is not None
    face, bary = rasterize_uv(low.uvs[low.face_uvs], size)
    covered = face >= 0
    f, b = face[covered], bary[covered]
    points = interpolate_corners(low.vertices, low.faces, f, b)
    normals = interpolate_corners(vertex_normals(low.vertices, low.faces), low.faces, f, b)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    out: dict[str, float] = {"rays": 2.0 * len(points)}
    for name, make in (("open3d", lambda: Open3DRays(high.vertices, high.faces)),
                       ("warp", lambda: WarpRays(high.vertices, high.faces, "cpu"))):  # fmt: skip
        start = time.perf_counter()
        engine = make()
        engine.cast(points[:1000], normals[:1000], 5.0)  # build the BVH / compile the kernel
        out[f"{name}_build"] = time.perf_counter() - start
        start = time.perf_counter()
        hit_out = engine.cast(points, normals, 5.0)
        engine.cast(points, -normals, 5.0)
        out[f"{name}_cast"] = time.perf_counter() - start
        out[f"{name}_hits"] = float(np.isfinite(hit_out.t).mean())
    return out


BLENDER_PYTHON = Path(__file__).resolve().parents[1] / ".venv-blender" / "bin" / "python"


def write_obj(path: Path, mesh: TriMesh) -> None:
    """A minimal OBJ with positions, UVs and ``v/vt`` faces (for Blender's importer)."""
    assert mesh.uvs is not None and mesh.face_uvs is not None
    with open(path, "w") as fh:
        np.savetxt(fh, mesh.vertices, fmt="v %.6f %.6f %.6f")
        np.savetxt(fh, mesh.uvs, fmt="vt %.7f %.7f")
        corners = np.stack([mesh.faces + 1, mesh.face_uvs + 1], axis=2).reshape(len(mesh.faces), 6)
        np.savetxt(fh, corners, fmt="f %d/%d %d/%d %d/%d")


def decode_png_normal(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    return image.astype(np.float64) / 65535.0 * 2.0 - 1.0


def compare_with_blender(high_path: Path, low: TriMesh, size: int, tmp: Path) -> dict[str, float]:
    """Bake the normal map with lifecast and with Cycles (same cage); timings and angular difference."""
    import cv2

    start = time.perf_counter()
    ours = bake_maps(read_scan(high_path).mesh, low, maps=["normal"], size=size, out_dir=tmp, name="lps")
    ours_total = time.perf_counter() - start
    low_path = tmp / "low.obj"
    write_obj(low_path, low)
    out = tmp / "blender_normal.npy"
    command = [str(BLENDER_PYTHON), str(Path(__file__).with_name("blender_bake.py"))]
    command += [str(high_path), str(low_path), str(size), repr(ours.cage), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    theirs = np.load(out).astype(np.float64) * 2.0 - 1.0
    mine = decode_png_normal(ours.paths["normal"][1001])
    mask = cv2.imread(str(ours.paths["mask"][1001]), cv2.IMREAD_UNCHANGED) > 0
    a, b = mine[mask], theirs[mask]
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    angle = np.degrees(np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0)))
    flipped = b * [1.0, -1.0, 1.0]
    angle_flipped = np.degrees(np.arccos(np.clip(np.sum(a * flipped, axis=1), -1.0, 1.0)))
    return {
        "ours_total": ours_total,
        "ours_normal": ours.seconds["rasterize"] + ours.seconds["correspond"] + ours.seconds["normal"],
        "blender_bake": timing["bake_s"],
        "blender_total": timing["total_s"],
        "mean_angle": float(angle.mean()),
        "median_angle": float(np.median(angle)),
        "p95_angle": float(np.percentile(angle, 95)),
        "mean_angle_green_flipped": float(angle_flipped.mean()),
        "mean_diff_r": float((a[:, 0] - b[:, 0]).mean()),
        "mean_diff_g": float((a[:, 1] - b[:, 1]).mean()),
        "mean_diff_b": float((a[:, 2] - b[:, 2]).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--faces", type=int, default=20_000)
    parser.add_argument(
        "--sections", default="raster,rays,bake,blender", help="comma list of raster, rays, bake, blender"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    high = read_scan(dense_scan_path()).mesh
    low = production_mesh(high, args.faces, max(args.sizes))
    print(f"high {len(high.faces):,} triangles, low {len(low.faces):,} triangles "
          f"(prepared in {time.perf_counter() - start:.1f} s)")  # fmt: skip

    sections = set(args.sections.split(","))
    if "blender" in sections and BLENDER_PYTHON.exists():
        print("\n| size | lifecast normal s (raster + rays + map) | lifecast total s | Cycles bake s "
              "| Cycles total s | Cycles / lifecast | mean angle deg | median | p95 | green flipped |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                c = compare_with_blender(dense_scan_path(), low, size, Path(tmp))
            print(f"| {size} | {c['ours_normal']:.2f} | {c['ours_total']:.2f} | {c['blender_bake']:.2f} | "
                  f"{c['blender_total']:.2f} | {c['blender_bake'] / c['ours_total']:.1f} | {c['mean_angle']:.2f} | "
                  f"{c['median_angle']:.2f} | {c['p95_angle']:.2f} | "
                  f"{c['mean_angle_green_flipped']:.2f} |")  # fmt: skip
            print(f"  mean channel difference (ours - Cycles): r {c['mean_diff_r']:+.4f} g {c['mean_diff_g']:+.4f} "
                  f"b {c['mean_diff_b']:+.4f}")  # fmt: skip
    elif "blender" in sections:
        print(f"\nBlender peer not run: {BLENDER_PYTHON} is missing (see the module docstring)")
    if "raster" in sections:
        print("\n| size | rasterizer numpy s | torch (CPU) s | torch / numpy | same face |")
        print("|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            r = bench_rasterizers(low, size)
            print(
                f"| {size} | {r['numpy']:.2f} | {r['torch']:.2f} | {r['torch'] / r['numpy']:.2f} | {r['agree']:.5f} |"
            )

    if "rays" in sections:
        r = bench_rays(high, low, min(args.sizes))
        print(f"\nrays at {min(args.sizes)}: {int(r['rays']):,} (both directions)")
        print("| engine | build + first call s | cast s | Mrays/s | hit fraction (+n) |")
        print("|---|---:|---:|---:|---:|")
        for name in ("open3d", "warp"):
            rate = r["rays"] / r[f"{name}_cast"] / 1e6
            print(
                f"| {name} | {r[f'{name}_build']:.2f} | {r[f'{name}_cast']:.2f} | {rate:.2f} | "
                f"{r[f'{name}_hits']:.3f} |"
            )
        print(f"ratio warp / open3d cast time: {r['warp_cast'] / r['open3d_cast']:.2f}")

    if "bake" in sections:
        print(
            "\n| size | maps | total s | rasterize | correspond | normal | displacement | coverage | misses | RSS MiB |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                result = bake_maps(high, low, maps=["normal", "displacement"], size=size, out_dir=Path(tmp), name="lps")
                total = time.perf_counter() - start
            s = result.seconds
            print(f"| {size} | normal, displacement | {total:.2f} | {s['rasterize']:.2f} | {s['correspond']:.2f} | "
                  f"{s['normal']:.2f} | {s['displacement']:.2f} | {result.coverage[1001]:.1%} | "
                  f"{result.cage_misses:,} | {peak_rss_mib():,.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
