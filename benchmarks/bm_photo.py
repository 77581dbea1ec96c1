"""Benchmark: photo projection (``lifecast.photo.project_photos``) of a synthetic capture onto a 4K map.

Inputs (made once per run in a temporary folder, not timed):

- the mesh: the bundled anny head (``sample_scans/anny_head/anny_head_truth.ply``, 50k triangles),
  subdivided once and decimated to ``--faces`` (100k) triangles, unwrapped for ``--size`` (4096);
- the photos: :mod:`lifecast.photo.synthetic` with ``--photos`` (40) cameras of ``--width`` x ``--height``
  (4000 x 3000, 12 MP), written as JPEG (quality 92). Each photo is ray traced at ``--render-scale`` (1/4)
  of its size and resized up: the files have the size and content a 12 MP capture's have, without
  tracing 480M rays here. Cameras written as a COLMAP text model;
- twice the photos: the same files again under other names (a second pass round the subject).

Measured, each projection in a child process of its own (so its peak RSS is its own): wall time, the
steps (rasterize, exposure pass, blend pass), peak RSS (``lifecast.resources.peak_rss_mb``), coverage
and the PSNR of the map against the synthetic truth (sRGB, covered texels).

There is no peer tool installed on this machine (Meshroom / AliceVision's texturing, Metashape, Reality
Capture, mvs-texturing are not available): the table has lifecast's numbers only.

Run: ``.venv/bin/python benchmarks/bm_photo.py`` (about 10 minutes on 2 cores) or ``--quick`` (10 photos of
3 MP onto a 1K map of 30k triangles, about a minute). Prints a table; never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HEAD = REPO / "sample_scans" / "anny_head" / "anny_head_truth.ply"


def load() -> str:
    """The 1-minute load average, for the record next to each timing."""
    return f"{os.getloadavg()[0]:.1f}"


def build_mesh(faces: int, size: int) -> Any:
    """The anny head subdivided once, decimated to about ``faces`` triangles and unwrapped for ``size``."""
    import trimesh

    from lifecast.geometry import build_lods
    from lifecast.io import read_scan
    from lifecast.mesh import TriMesh
    from lifecast.uv import unwrap

    head = read_scan(HEAD).mesh
    vertices, tris = trimesh.remesh.subdivide(head.vertices.astype(np.float64), head.faces.astype(np.int64))
    dense = TriMesh(np.asarray(vertices, np.float32), np.asarray(tris, np.int32))
    mesh = build_lods(dense, [faces])[0] if len(dense.faces) > faces else dense
    return unwrap(mesh, texture_size=size)


def capture_for(mesh: Any, args: argparse.Namespace) -> Any:
    from lifecast.photo.synthetic import synthetic_capture

    return synthetic_capture(mesh, cameras=args.photos, width=args.width, height=args.height, up=(0, 0, 1),
                             extension=".jpg", keep=False, seed=args.seed)  # fmt: skip


def prepare(work: Path, args: argparse.Namespace) -> dict[str, float]:
    """Write the mesh, the photos and both rigs into ``work``; returns the seconds each took."""
    from lifecast.io.cameras import write_colmap_text
    from lifecast.io.cameras.model import Camera, CameraRig

    seconds = {}
    t = time.perf_counter()
    mesh = build_mesh(args.faces, args.size)
    np.savez(work / "mesh.npz", **mesh.arrays())
    seconds["mesh"] = time.perf_counter() - t
    t = time.perf_counter()
    capture = capture_for(mesh, args)
    images = capture.write_photos(work / "images", scale=args.render_scale, quality=92)
    seconds["photos"] = time.perf_counter() - t
    write_colmap_text(capture.rig, work / "rig1")
    twins = []
    for cam in capture.rig.cameras:
        shutil.copy(images / cam.name, images / ("b_" + cam.name))
        twins.append(Camera("b_" + cam.name, cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy, cam.rotation,
                            cam.translation, cam.distortion, cam.sensor_id))  # fmt: skip
    write_colmap_text(CameraRig((*capture.rig.cameras, *twins), "synthetic"), work / "rig2")
    return seconds


def child(work: Path, rig: str, args: argparse.Namespace) -> None:
    """Run inside a child process: one projection; prints its measurements as JSON."""
    from lifecast.io.cameras import read_cameras
    from lifecast.mesh import TriMesh
    from lifecast.photo import project_photos
    from lifecast.photo.metrics import psnr
    from lifecast.photo.texels import texel_set
    from lifecast.resources import peak_rss_mb
    from lifecast.uv.udim import face_udims

    with np.load(work / "mesh.npz") as arrays:
        mesh = TriMesh.from_arrays(dict(arrays))
    cameras = read_cameras(work / rig)
    rss_inputs = peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    result = project_photos(mesh, cameras, work / "images", size=args.size)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = peak_rss_mb()
    assert mesh.uvs is not None and mesh.face_uvs is not None
    texels = texel_set(mesh, [1001], face_udims(mesh.uvs, mesh.face_uvs), args.size)
    truth = capture_for(mesh, args).albedo(texels.point)  # the same seed: the same albedo
    covered = result.coverage[1001].reshape(-1)[texels.tiles[0].texel]
    score = psnr(result.albedo[1001].reshape(-1, 3)[texels.tiles[0].texel][None], truth[None], covered[None])
    print(json.dumps({
        "photos": len(cameras), "seconds": seconds, "cpu_seconds": cpu, "steps": result.seconds, "peak_rss_mb": peak,
        "rss_inputs_mb": rss_inputs, "coverage": float(result.coverage[1001].mean()), "covered": int(covered.sum()),
        "psnr": score, "used": result.report()["photos_used"],
    }))  # fmt: skip


def _run(command: list[str], what: str) -> str:
    """The last line a child process printed; exits with its error output when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{what} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--render-scale", type=float, default=0.25)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="10 photos of 3 MP onto a 1K map of 30k triangles")
    parser.add_argument("--child", nargs=2, metavar=("WORK", "RIG"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", metavar="WORK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.photos, args.width, args.height, args.render_scale = 10, 2000, 1500, 0.5
        args.size, args.faces = 1024, 30_000
    if args.child:
        child(Path(args.child[0]), args.child[1], args)
        return
    if args.prepare:
        print(json.dumps(prepare(Path(args.prepare), args)))
        return
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
             if k in ("photos", "width", "height", "render_scale", "size", "faces", "seed")]  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="bm_photo_") as tmp:
        work = Path(tmp)
        print(f"preparing: {args.faces:,}-triangle head, {args.photos} photos of {args.width}x{args.height} "
              f"(traced at {args.render_scale:g}x), {args.size}px map ... ", end="", flush=True)  # fmt: skip
        # In child processes, as each projection: Linux keeps a process's peak RSS across exec, so a parent
        # that had rendered the photos would pass its own peak on to the projections it starts.
        prep = json.loads(_run([sys.executable, __file__, "--prepare", str(work), *flags], "preparation"))
        print(f"{prep['mesh']:.0f} s mesh, {prep['photos']:.0f} s photos")
        rows = []
        for rig in ("rig1", "rig2"):
            command = [sys.executable, __file__, "--child", str(work), rig, *flags]
            rows.append((json.loads(_run(command, f"the {rig} projection")), load()))
    mp = args.width * args.height / 1e6
    print(f"\nphoto projection: {args.faces:,}-triangle head, photos of {mp:.0f} MP (JPEG), one {args.size}px tile")
    print("no peer tool installed (Meshroom, Metashape, RealityCapture, mvs-texturing): lifecast only\n")
    print("| photos | total s | CPU s (all threads) | s per photo | rasterize s | exposure pass s | blend pass s | "
          "peak RSS MiB | inputs MiB | covered texels | PSNR dB | load |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m, avg in rows:
        s = m["steps"]
        print(f"| {m['photos']} ({m['used']} used) | {m['seconds']:.1f} | {m['cpu_seconds']:.1f} | "
              f"{m['seconds'] / m['photos']:.2f} | "
              f"{s['texels']:.1f} | {s['exposure']:.1f} | {s['blend']:.1f} | {m['peak_rss_mb']:.0f} | "
              f"{m['rss_inputs_mb']:.0f} | {m['covered']:,} | {m['psnr']:.2f} | {avg} |")  # fmt: skip
    (one, _), (two, _) = rows
    ratio = two["peak_rss_mb"] / one["peak_rss_mb"]
    print(f"\n2x photos: time x{two['seconds'] / one['seconds']:.2f}, peak RSS x{ratio:.3f}")


if __name__ == "__main__":
    main()
