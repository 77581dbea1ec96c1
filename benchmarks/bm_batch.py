"""Batch throughput: N sample scans through ``lifecast batch``, then the same batch again (all cached).

The scans are the bundled sample head, each copy made distinct by one header
comment (so each has its own content hash and nothing is shared through the
cache on the first pass). Prints scans per hour, the pool size the scheduler
chose, and peak memory per worker (from ``wait4``); never fails on time.
The peer is the naive loop a TD would write: the same scans one after another
with ``lifecast process``, timed on the first ``--peer`` scans and extrapolated.

Usage: ``python benchmarks/bm_batch.py [--scans 20] [--lods 20000,5000,1000] [--texture-size 1024] [--peer 2]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lifecast.farm.batch import cpu_count, run_batch
from lifecast.farm.manifest import load_manifest
from lifecast.io import read_scan
from lifecast.resources import available_memory_mib

SAMPLE = Path(__file__).resolve().parents[1] / "sample_scans" / "anny_head" / "anny_head_scan.ply"


def distinct_copies(n: int, folder: Path) -> list[Path]:
    """``n`` copies of the sample scan, each with its own header comment (and so its own hash)."""
    data = SAMPLE.read_bytes()
    head, sep, body = data.partition(b"end_header\n")
    paths = []
    for i in range(n):
        p = folder / f"head_{i:03d}.ply"
        p.write_bytes(head + f"comment bm_batch copy {i}\n".encode() + sep + body)
        paths.append(p)
    return paths


def write_manifest(scans: list[Path], lods: str, texture_size: int, path: Path) -> Path:
    lines = ["[defaults]", f"lods = [{lods}]", f"texture_size = {texture_size}", ""]
    for s in scans:
        lines += ["[[scans]]", f'scan = "{s.name}"', ""]
    path.write_text("\n".join(lines))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=20)
    ap.add_argument("--lods", default="20000,5000,1000")
    ap.add_argument("--texture-size", type=int, default=1024)
    ap.add_argument("--peer", type=int, default=2, help="scans to time the sequential loop on (0: skip)")
    ap.add_argument("--jobs", type=int, help="pool size (default: the scheduler's choice)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bm_batch_") as tmp:
        root = Path(tmp)
        scans = distinct_copies(args.scans, root)
        manifest = load_manifest(write_manifest(scans, args.lods, args.texture_size, root / "batch.toml"))
        print(f"machine: {cpu_count()} cores, {available_memory_mib():,.0f} MiB available")
        triangles = len(read_scan(SAMPLE).mesh.faces)
        size = args.texture_size
        print(f"{args.scans} sample scans ({triangles:,} triangles each), LODs {args.lods}, texture {size}")

        first = run_batch(manifest, root / "out", jobs=args.jobs)
        second = run_batch(manifest, root / "out", jobs=args.jobs)
        peaks = [r.peak_rss_mib for r in first.results]
        secs = [r.seconds for r in first.results]
        ests = [r.estimate_mib for r in first.results]

        print()
        print("| pass | pool | scans ok | wall s | scans/hour | s per scan (median) | peak MiB/worker (median, max) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for label, rep in (("first (cold cache)", first), ("again (all cached)", second)):
            ok = sum(r.exit_code == 0 for r in rep.results)
            p = [r.peak_rss_mib for r in rep.results]
            print(
                f"| {label} | {rep.jobs} | {ok}/{len(rep.results)} | {rep.seconds:.1f} | "
                f"{3600 * len(rep.results) / rep.seconds:,.0f} | "
                f"{statistics.median(r.seconds for r in rep.results):.1f} | "
                f"{statistics.median(p):.0f}, {max(p):.0f} |"
            )
        print(f"\nmemory estimate per scan: {ests[0]} MiB (measured peak {statistics.median(peaks):.0f} MiB median)")
        print(f"cached stages on the second pass: {sum(r.stages_cached for r in second.results)} of {6 * args.scans}")

        if args.peer:
            t0 = time.perf_counter()
            for s in scans[: args.peer]:
                cmd = [sys.executable, "-m", "lifecast.cli", "process", str(s), "-o", str(root / "peer" / s.stem)]
                cmd += ["--json", "--lods", args.lods, "--texture-size", str(args.texture_size)]
                subprocess.run(cmd, check=True, capture_output=True)
            per = (time.perf_counter() - t0) / args.peer
            print(
                f"\npeer (sequential `lifecast process` loop, {args.peer} scans timed): {per:.1f} s/scan, "
                f"{3600 / per:,.0f} scans/hour; batch/peer throughput ratio "
                f"{(3600 * len(first.results) / first.seconds) / (3600 / per):.2f}x"
            )
        print(f"(mean wall per scan inside the pool: {statistics.mean(secs):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
