"""Dense scans: ``lifecast process`` on 1.1M, 10.2M and 29.7M triangles, time and peak memory per stage.

The inputs are the Lee Perry-Smith head with every triangle split 8, 24 and 41 times along each edge and
displaced by its own displacement map (``dense_scan.py``, built once into the git-ignored ``bench_out/``).
Each size runs the default job (3 LODs, a 4K albedo, delight and inpaint) in a process of its own, timed
per stage, with the resident memory of the job and its child processes sampled every 20 ms. Printed: one
table per size, then how time and peak grow with the triangle count. Targets (#18): 10M triangles in under
5 minutes and under 10 GB; 30M within this machine's 24 GiB without swap. Never fails on time.

No peer runs here: the tools that mesh and texture dense scans (RealityCapture, Metashape) are not
installed, and trimesh's chain (``bm_pipeline.py``'s peer) does no cleaning or texturing.

Usage: ``python benchmarks/bm_dense.py [--splits 8 24 41] [--size 4096]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dense_scan import dense_scan_path

TARGET_10M_SECONDS = 300.0
TARGET_10M_GB = 10.0


def child(splits: int, size: int) -> None:
    """Run one size in this process and print its figures as one JSON line."""
    from bm_pipeline import run_lifecast

    scan = dense_scan_path(splits)
    with open(scan, "rb") as fh:
        header = fh.read(2048).split(b"end_header")[0].decode("ascii")
    faces = int(next(line.split()[2] for line in header.splitlines() if line.startswith("element face")))
    out = Path(tempfile.mkdtemp(prefix="bm_dense_"))
    try:
        timings, peaks, total, peak_all = run_lifecast(scan, out / "asset", size)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(
        json.dumps(
            {"splits": splits, "faces": faces, "timings": timings, "peaks": peaks, "total": total, "peak": peak_all}
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splits", type=int, nargs="+", default=[8, 24, 41])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.size)
        return
    print(
        f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB, "
        f"load average {os.getloadavg()[0]:.1f}; albedo {args.size} px"
    )
    runs = []
    for splits in args.splits:
        dense_scan_path(splits)  # build outside the timed run
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(splits), "--size", str(args.size)],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            print(f"\nsplits {splits}: failed (exit {proc.returncode})\n{proc.stderr[-2000:]}")
            continue
        run = json.loads(lines[-1])
        runs.append(run)
        print(f"\n{run['faces']:,} triangles (splits {splits}), load average {os.getloadavg()[0]:.1f}")
        print(f"{'stage':<10}{'seconds':>10}{'peak RSS MiB':>15}")
        for stage, sec in run["timings"].items():
            print(f"{stage:<10}{sec:>10.2f}{run['peaks'].get(stage, 0.0):>15,.0f}")
        print(f"{'total':<10}{run['total']:>10.2f}{run['peak']:>15,.0f}")
    if len(runs) > 1:
        base = runs[0]
        print(f"\ngrowth from {base['faces'] / 1e6:.1f}M triangles:")
        for run in runs[1:]:
            print(
                f"  {run['faces'] / 1e6:5.1f}M ({run['faces'] / base['faces']:.1f}x triangles): "
                f"time {run['total'] / base['total']:.1f}x, peak {run['peak'] / base['peak']:.1f}x"
            )
    for run in runs:
        if 9e6 <= run["faces"] <= 11e6:
            ok_t = "meets" if run["total"] <= TARGET_10M_SECONDS else "MISSES"
            ok_m = "meets" if run["peak"] * 2**20 <= TARGET_10M_GB * 1e9 else "MISSES"
            print(f"10M target {TARGET_10M_SECONDS:.0f} s: {ok_t}; {TARGET_10M_GB:.0f} GB peak: {ok_m}")
        if run["faces"] >= 25e6:
            total = psutil.virtual_memory().total
            ok = "meets" if run["peak"] * 2**20 < total else "MISSES"
            print(f"30M target: peak {run['peak'] / 1024:.1f} GiB within {total / 2**30:.1f} GiB: {ok}")


if __name__ == "__main__":
    main()
