"""Benchmark: delight + inpaint of a 4K albedo (and 8K for memory), beside the baselines, in one run.

Input: the Lee Perry-Smith head (``../shared/scans``) and its colour map upsampled to the size asked, as the lit
texture (kept as 8-bit sRGB codes, as a file gives them: the delight decodes it band by band); holes from
:func:`lifecast.ml.coverage_holes.coverage_holes` (a simulated capture rig's blind spots) at 1K, scaled up.

Each ``--sizes`` entry runs in a child process (its own peak RSS; ``lifecast_peak_rss_mb`` is the peak once the
delight and the inpaint have run, before the baselines, ``peak_rss_mb`` the peak of the whole child):

- ``delight``: the geometry maps at the working size (1024), the fit, the model tile by tile, the upsampled
  division and the deep-shadow fill (:func:`lifecast.ml.run_delight.delight_texture_set`), the shipped weights
  on ``--device``;
- ``baseline delight``: the Unity-style SH + AO fit alone (``model=None``, no fill), same path, run first;
- ``inpaint``: the full-size geometry (positions, normals, rasterized band by band; 8-ray AO at 1024 px,
  upsampled) and the chart-aware fill (:func:`lifecast.ml.run_inpaint.fill_texture_set`), in place, as
  ``lifecast inpaint`` runs it;
- ``telea`` / ``push-pull``: OpenCV's Telea inpainting and the bake's padding on the same holes.

Prints a table with the load average (the machine is shared: compare ratios within a run). Never fails on time.
Run: ``.venv/bin/python benchmarks/bm_ml.py [--sizes 4096 8192] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

LPS = Path(__file__).resolve().parents[2] / "shared" / "scans" / "lee_perry_smith_head" / "obj_2k"


def _child(size: int, device: str) -> dict[str, Any]:
    from lifecast.color import srgb_to_linear
    from lifecast.io.scan import read_scan
    from lifecast.ml.coverage_holes import coverage_holes
    from lifecast.ml.geometry_maps import geometry_maps
    from lifecast.ml.inpaint import push_pull, telea
    from lifecast.ml.run_delight import delight_texture_set
    from lifecast.ml.run_inpaint import fill_texture_set
    from lifecast.ml.weights import load_delight_model
    from lifecast.resources import peak_rss_mb

    def decode(rows: NDArray[np.uint8]) -> NDArray[np.float32]:
        return np.asarray(srgb_to_linear(rows.astype(np.float32) / 255.0), np.float32)

    mesh = read_scan(LPS / "head.obj").mesh.with_(texture=None)
    image = cv2.imread(str(LPS / "Map-COL.jpg"))[:, :, ::-1]
    # The lit texture stays 8-bit sRGB codes, as read from a file; the delight decodes it band by band.
    codes = np.ascontiguousarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC))
    del image
    small = geometry_maps(mesh, 1024, ao_samples=0, cavity=False)
    holes_1k = coverage_holes(mesh, small)[0]
    holes = cv2.resize(holes_1k.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
    rows: dict[str, Any] = {"size": size, "hole_texels": int(holes.sum()), "load": f"{os.getloadavg()[0]:.1f}"}
    model, _ = load_delight_model(device=device)

    geometry = geometry_maps(mesh, 1024, device=device)
    t = time.perf_counter()
    delight_texture_set(None, [codes], geometry, decode=decode, fill_shadows=False)
    rows["baseline_delight_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    geometry = geometry_maps(mesh, 1024, device=device)
    delit = delight_texture_set(model, [codes], geometry, decode=decode, device=device)
    rows["delight_s"] = round(time.perf_counter() - t, 2)
    rows["rss_after_delight_mb"] = round(peak_rss_mb(), 0)
    albedo = delit.tiles[0].albedo
    del delit, codes
    with tempfile.TemporaryDirectory() as tmp:
        # The baselines fill the same albedo after the fill below, which fills it in place (as `lifecast inpaint`
        # does: the texture read is the texture written): they read it back from a file.
        np.save(Path(tmp) / "albedo.npy", albedo)
        t = time.perf_counter()
        filled, full = fill_texture_set(mesh, [albedo], [1001], [holes], in_place=True)
        rows["inpaint_s"] = round(time.perf_counter() - t, 2)
        rows["lifecast_peak_rss_mb"] = round(peak_rss_mb(), 0)
        covered = full[0].covered
        del filled, full, albedo
        albedo = np.load(Path(tmp) / "albedo.npy")
    t = time.perf_counter()
    telea(albedo, holes, covered)
    rows["telea_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    push_pull(albedo, holes, covered)
    rows["push_pull_s"] = round(time.perf_counter() - t, 2)
    rows["peak_rss_mb"] = round(peak_rss_mb(), 0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.device)))
        return
    if not LPS.is_dir():
        sys.exit(f"bm_ml needs {LPS}")
    results = []
    for size in args.sizes:
        run = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--device", args.device],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    keys = ["size", "load", "delight_s", "baseline_delight_s", "inpaint_s", "telea_s", "push_pull_s"]
    keys += ["hole_texels", "rss_after_delight_mb", "lifecast_peak_rss_mb", "peak_rss_mb"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    for r in results:
        total = r["delight_s"] + r["inpaint_s"]
        print(
            f"{r['size']}px: delight + inpaint {total:.1f} s ({args.device}); peak {r['lifecast_peak_rss_mb']:.0f} MiB"
            f" (with the baselines after them: {r['peak_rss_mb']:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
