"""Benchmark: the baking engine on a 1.13M-triangle scan onto its ~20k-triangle production mesh.

Inputs: the dense Lee Perry-Smith head (``benchmarks/dense_scan.py``: subdivided three times and
displaced by its own 4K displacement map, in mm) and a production mesh made from it the way the
pipeline makes one (``lifecast.geometry.build_lods`` to ~20k triangles, ``lifecast.uv.unwrap``).

Measured, side by side in one run (sections, ``--sections``):

- ``blender``: Blender Cycles (the peer artists use) on the same high/low pair and cage, when
  ``.venv-blender`` exists (``python3.11 -m venv .venv-blender && .venv-blender/bin/pip install
  bpy==5.0.1``): Cycles' bake time against lifecast's ``bake_maps`` time for the same tangent-space
  normal map (both with the meshes already loaded, both building their own ray-tracing structures),
  and the angle between the two maps on covered texels (``benchmarks/blender_bake.py`` runs inside
  Blender). Each size is timed ``--repeat`` times alternating the two, the best of each kept;
- ``bake``: ``bake_maps`` normal + displacement: seconds per step;
- ``raster``: the UV rasterizers: numpy row runs (``TileRasterizer`` in bands, what the CPU engine does), the
  older numpy candidate rasterizer (``rasterize_uv`` of the previous engine, through ``iter_candidates``)
  and torch (``rasterize_uv_torch``, for CUDA) on the CPU;
- ``rays``: the ray engines (open3d's Embree against NVIDIA Warp's BVH on the CPU) on the engine's rays,
  one per texel from the cage inwards;
- ``memory``: one ``--memory-size`` tile with all four maps, in a child process: its peak RSS.

The machine's load average is printed with every timing: the machine is shared, so compare the
ratios of one run, not absolute times across runs.

Run: ``.venv/bin/python benchmarks/bm_bake.py [--sizes 2048 4096] [--faces 20000] [--sections ...]``.
Prints tables; never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dense_scan import dense_scan_path
from lifecast.bake import bake_maps
from lifecast.geometry import build_lods
from lifecast.io import read_scan
from lifecast.mesh import TriMesh
from lifecast.uv import unwrap

BLENDER_PYTHON = Path(__file__).resolve().parents[1] / ".venv-blender" / "bin" / "python"


def load() -> str:
    """The 1-minute load average, for the record next to each timing."""
    return f"{os.getloadavg()[0]:.1f}"


def png_deflater() -> str:
    """Which deflate the PNG maps are written with (``lifecast.bake.images.encode_png``)."""
    import importlib.util

    return "ISA-L (isal)" if importlib.util.find_spec("isal") is not None else "zlib (isal not installed)"


def production_mesh(high: TriMesh, faces: int, texture_size: int) -> TriMesh:
    """Decimate the scan to about ``faces`` triangles and unwrap it, as the pipeline does."""
    low = build_lods(high.with_(vertex_colors=None), [faces])[0]
    return unwrap(low, texture_size=texture_size)


def bench_rasterizers(low: TriMesh, size: int, repeat: int = 2) -> dict[str, float]:
    """Seconds (best of ``repeat``) of the CPU rasterizers on the low mesh's tile, and how they agree."""
    from lifecast.bake.raster_feed import TEXEL_CHUNK
    from lifecast.bake.raster_torch import rasterize_uv_torch
    from lifecast.bake.rasterize import OVERLAP_DEPTH_PX, TileRasterizer, iter_candidates, rasterize_texels

    assert low.uvs is not None and low.face_uvs is not None
    corners = low.uvs[low.face_uvs].astype(np.float64)

    def banded() -> int:
        # What the engine does: overlap count first, then band by band.
        rasterizer = TileRasterizer(corners, size)
        return rasterizer.overlap_count() + sum(len(band.texel) for band in rasterizer.bands(TEXEL_CHUNK))

    def candidates() -> tuple[NDArray[np.int32], int]:
        # The previous engine's CPU path: nearest-candidate resolution plus a second candidate pass for overlaps.
        n = size * size
        face = np.full(n, -1, np.int32)
        best = np.full(n, np.inf, np.float32)
        inside = []
        for faces, flat, _, outside in iter_candidates(corners, size):
            depth = np.maximum(outside, 0.0)
            np.minimum.at(best, flat, depth)
            won = depth <= best[flat]
            face[flat[won]] = faces[won]
        for _, flat, _, outside in iter_candidates(corners, size):
            inside.append(flat[outside < -OVERLAP_DEPTH_PX])
        return face, int(np.count_nonzero(np.bincount(np.concatenate(inside), minlength=n) > 1))

    def best_of(fn: Any) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    rows = rasterize_texels(corners, size)
    _, overlap_old = candidates()
    raster = rasterize_uv_torch(corners, size)
    torch_face = raster.face.numpy().ravel()
    covered = np.flatnonzero(torch_face >= 0)
    return {
        "bands": best_of(banded),
        "candidates": best_of(candidates),
        "torch": best_of(lambda: rasterize_uv_torch(corners, size)),
        "cover_diff": float(len(np.setxor1d(covered, rows.texel))),
        "agree": float(np.mean(torch_face[rows.texel] == rows.face)),
        "overlap_rows": rows.overlap,
        "overlap_old": overlap_old,
    }


def bench_rays(high: TriMesh, low: TriMesh, size: int, cage: float) -> dict[str, float]:
    from lifecast.bake.correspond import Open3DRays, WarpRays
    from lifecast.bake.rasterize import rasterize_texels
    from lifecast.bake.sampling import interpolate_corners
    from lifecast.geometry.measure import vertex_normals_angle_weighted

    assert low.uvs is not None and low.face_uvs is not None
    raster = rasterize_texels(low.uvs[low.face_uvs], size)
    points = interpolate_corners(low.vertices, low.faces, raster.face, raster.bary)
    vertex_normals = vertex_normals_angle_weighted(low.vertices, low.faces)
    normals = interpolate_corners(vertex_normals, low.faces, raster.face, raster.bary)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    origins = points + cage * normals
    out: dict[str, float] = {"rays": float(len(points))}
    for name, make in (("open3d", lambda: Open3DRays(high.vertices, high.faces)),
                       ("warp", lambda: WarpRays(high.vertices, high.faces, "cpu"))):  # fmt: skip
        start = time.perf_counter()
        engine = make()
        engine.cast(origins[:1000], -normals[:1000], 2 * cage)  # build the BVH / compile (or load) the kernel
        out[f"{name}_build"] = time.perf_counter() - start
        start = time.perf_counter()
        hit = engine.cast(origins, -normals, 2 * cage)
        out[f"{name}_cast"] = time.perf_counter() - start
        out[f"{name}_hits"] = float(np.isfinite(hit.t).mean())
    return out


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

    image = np.asarray(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))[..., ::-1]
    return image.astype(np.float64) / 65535.0 * 2.0 - 1.0


def run_blender(high_path: Path, low_path: Path, size: int, cage: float, out: Path) -> dict[str, Any]:
    command = [str(BLENDER_PYTHON), str(Path(__file__).with_name("blender_bake.py"))]
    command += [str(high_path), str(low_path), str(size), repr(cage), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def compare_with_blender(high: TriMesh, low: TriMesh, size: int, tmp: Path, repeat: int) -> dict[str, Any]:
    """Bake the tangent normal map with lifecast and with Cycles (same cage), alternating; best of ``repeat``."""
    import cv2

    low_path = tmp / "low.obj"
    write_obj(low_path, low)
    blender_out = tmp / "blender_normal.npy"
    ours_s, ours_cpu, cycles_s, cycles_cpu, loads = [], [], [], [], []
    ours = None
    timing: dict[str, Any] = {}
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        start, cpu = time.perf_counter(), time.process_time()
        ours = bake_maps(high, low, maps=["normal"], size=size, out_dir=tmp, name="lps")
        ours_s.append(time.perf_counter() - start)
        ours_cpu.append(time.process_time() - cpu)
        loads.append(os.getloadavg()[0])
        timing = run_blender(dense_scan_path(), low_path, size, ours.cage, blender_out)
        cycles_s.append(timing["bake_s"])
        cycles_cpu.append(timing["bake_cpu_s"])
    assert ours is not None
    theirs = np.load(blender_out).astype(np.float64) * 2.0 - 1.0
    mine = decode_png_normal(ours.paths["normal"][1001])
    mask = np.asarray(cv2.imread(str(ours.paths["mask"][1001]), cv2.IMREAD_UNCHANGED)) > 0
    a, b = mine[mask], theirs[mask]
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    angle = np.degrees(np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0)))
    flipped = b * [1.0, -1.0, 1.0]
    angle_flipped = np.degrees(np.arccos(np.clip(np.sum(a * flipped, axis=1), -1.0, 1.0)))
    best = int(np.argmin(ours_s))
    best_cycles = int(np.argmin(cycles_s))
    return {
        "ours": ours_s[best],
        "ours_cpu": ours_cpu[best],
        "ours_all": ours_s,
        "cycles": cycles_s[best_cycles],
        "cycles_cpu": cycles_cpu[best_cycles],
        "cycles_all": cycles_s,
        "cycles_threads": timing.get("threads", 0),
        "load_min": min(loads),
        "load_max": max(loads),
        "mean_angle": float(angle.mean()),
        "median_angle": float(np.median(angle)),
        "p95_angle": float(np.percentile(angle, 95)),
        "p99_angle": float(np.percentile(angle, 99)),
        "mean_angle_green_flipped": float(angle_flipped.mean()),
        "mean_diff_r": float((a[:, 0] - b[:, 0]).mean()),
        "mean_diff_g": float((a[:, 1] - b[:, 1]).mean()),
        "mean_diff_b": float((a[:, 2] - b[:, 2]).mean()),
        "cage_misses": ours.cage_misses,
        "seconds": ours.seconds,
    }


def memory_child(size: int, faces: int) -> None:
    """Run inside a child process: all four maps at ``size``; prints peak RSS and seconds as JSON."""
    import psutil

    high = read_scan(dense_scan_path()).mesh
    low = production_mesh(high, faces, size)
    rss_inputs = psutil.Process().memory_info().rss
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = bake_maps(high, low, maps=["albedo", "normal", "displacement", "ao"], size=size, out_dir=Path(tmp),
                           ao_samples=4)  # fmt: skip
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss": peak, "rss_inputs": rss_inputs, "seconds": seconds, "steps": result.seconds,
                      "coverage": result.coverage[1001]}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--faces", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2, help="timings per size against Blender (best kept)")
    parser.add_argument("--memory-size", type=int, default=8192)
    parser.add_argument(
        "--sections", default="blender,bake,raster,rays", help="comma list of blender, bake, raster, rays, memory"
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_size, args.faces)
        return

    start = time.perf_counter()
    high = read_scan(dense_scan_path()).mesh
    low = production_mesh(high, args.faces, max(args.sizes))
    print(f"high {len(high.faces):,} triangles, low {len(low.faces):,} triangles "
          f"(prepared in {time.perf_counter() - start:.1f} s); {os.cpu_count()} CPUs, load {load()}; "
          f"PNG deflate: {png_deflater()}")  # fmt: skip

    sections = set(args.sections.split(","))
    if "blender" in sections and BLENDER_PYTHON.exists():
        print("\nTangent normal map, lifecast bake_maps vs Cycles bake (best of", args.repeat, "each, alternating)")
        print("| size | lifecast s | lifecast CPU s | Cycles s | Cycles CPU s | Cycles / lifecast | mean angle deg "
              "| median | p95 | p99 | green flipped | load |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                c = compare_with_blender(high, low, size, Path(tmp), args.repeat)
            print(f"| {size} | {c['ours']:.2f} | {c['ours_cpu']:.2f} | {c['cycles']:.2f} | {c['cycles_cpu']:.2f} | "
                  f"{c['cycles'] / c['ours']:.1f} | {c['mean_angle']:.2f} | {c['median_angle']:.2f} | "
                  f"{c['p95_angle']:.2f} | {c['p99_angle']:.2f} | {c['mean_angle_green_flipped']:.2f} | "
                  f"{c['load_min']:.1f}-{c['load_max']:.1f} |")  # fmt: skip
            print(f"  all runs: lifecast {[round(x, 2) for x in c['ours_all']]}, Cycles "
                  f"{[round(x, 2) for x in c['cycles_all']]}; Cycles render threads {c['cycles_threads']}; "
                  f"lifecast steps {({k: round(v, 2) for k, v in c['seconds'].items()})}")  # fmt: skip
            print(f"  mean channel difference (ours - Cycles): r {c['mean_diff_r']:+.4f} g {c['mean_diff_g']:+.4f} "
                  f"b {c['mean_diff_b']:+.4f}; cage misses {c['cage_misses']:,}")  # fmt: skip
    elif "blender" in sections:
        print(f"\nBlender peer not run: {BLENDER_PYTHON} is missing (see the module docstring)")

    if "bake" in sections:
        print("\n(rasterize runs on its own thread beside the other steps; raster wait is the baker waiting for it)")
        print("| size | maps | total s | CPU s | setup | correspond | normal | displacement | write wait | rasterize "
              "| raster wait | coverage | misses | load |")  # fmt: skip
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                start, cpu = time.perf_counter(), time.process_time()
                result = bake_maps(high, low, maps=["normal", "displacement"], size=size, out_dir=Path(tmp), name="lps")
                total, cpu = time.perf_counter() - start, time.process_time() - cpu
            s = result.seconds
            print(f"| {size} | normal, displacement | {total:.2f} | {cpu:.2f} | {s['setup']:.2f} | "
                  f"{s['correspond']:.2f} | {s['normal']:.2f} | {s['displacement']:.2f} | {s['write_wait']:.2f} | "
                  f"{s['rasterize']:.2f} | {s.get('raster_wait', 0.0):.2f} | {result.coverage[1001]:.1%} | "
                  f"{result.cage_misses:,} | {load()} |")  # fmt: skip

    if "raster" in sections:
        print("\n| size | row runs, banded s | candidates (previous) s | torch CPU s | coverage differs (texels) "
              "| same face | overlap texels (rows / previous) | load |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            r = bench_rasterizers(low, size)
            print(f"| {size} | {r['bands']:.2f} | {r['candidates']:.2f} | {r['torch']:.2f} | {r['cover_diff']:.0f} | "
                  f"{r['agree']:.5f} | {r['overlap_rows']:.0f} / {r['overlap_old']:.0f} | {load()} |")  # fmt: skip

    if "rays" in sections:
        size = min(args.sizes)
        r = bench_rays(high, low, size, cage=0.616)
        print(f"\nrays at {size}: {int(r['rays']):,} (one per covered texel, from the cage inwards)")
        print("| engine | build + first call s | cast s | Mrays/s | hit fraction | load |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in ("open3d", "warp"):
            rate = r["rays"] / r[f"{name}_cast"] / 1e6
            print(f"| {name} | {r[f'{name}_build']:.2f} | {r[f'{name}_cast']:.2f} | {rate:.2f} | "
                  f"{r[f'{name}_hits']:.4f} | {load()} |")  # fmt: skip

    if "memory" in sections:
        command = [sys.executable, __file__, "--memory-child", "--memory-size", str(args.memory_size),
                   "--faces", str(args.faces)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        m = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"\nmemory: one {args.memory_size}px tile, albedo + normal + displacement + AO (4 samples): "
              f"{m['seconds']:.1f} s, peak RSS {m['peak_rss'] / 2**30:.2f} GiB (inputs loaded: "
              f"{m['rss_inputs'] / 2**30:.2f} GiB), coverage {m['coverage']:.1%}, load {load()}")  # fmt: skip
        print(f"  steps { ({k: round(v, 1) for k, v in m['steps'].items()}) }")


if __name__ == "__main__":
    main()
