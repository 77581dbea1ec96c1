"""Whole-job benchmark: a ~1M-triangle scan to a USD asset (3 LODs, 4K albedo).

Runs ``lifecast process`` in-process on the dense Lee Perry-Smith scan (see
``dense_scan.py``), timing each stage and sampling resident memory on a thread
for each stage's peak. Then, on the same input and in the same run, a peer: the
chain a TD would write with trimesh alone (load, quadric decimation to the same
LOD counts, xatlas unwrap of LOD0 through trimesh, GLB export, no texture
transfer) for a ratio. Prints a table; never fails on time.

Usage: ``python benchmarks/bm_pipeline.py [--size 4096] [--scan PATH] [--keep]``
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dense_scan import dense_scan_path
from lifecast.pipeline.options import ProcessOptions
from lifecast.pipeline.scan_to_asset import process_scan
from lifecast.worker.events import Event

TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096.0


class StageMemory:
    """Event sink that samples RSS every 20 ms and keeps each stage's peak.

    The RSS of child processes (the decimation runs in one on dense scans) is added to this process's: pages
    a forked child shares with its parent count twice, so this over- rather than under-states the peak.
    """

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.current: str | None = None
        self.peaks: dict[str, float] = {}
        self.peak_all = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = self.proc.memory_info().rss
            for child in self.proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # it ended between the listing and the read
                    rss += child.memory_info().rss
            rss /= 2**20
            self.peak_all = max(self.peak_all, rss)
            if self.current is not None:
                self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), rss)
            time.sleep(0.02)

    def emit(self, event: Event) -> None:
        if event.type == "stage_start":
            self.current = event.data["stage"]
        elif event.type == "stage_end":
            self.current = None

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run_lifecast(scan: Path, out: Path, size: int) -> tuple[dict[str, float], dict[str, float], float, float]:
    mem = StageMemory()
    t0 = time.perf_counter()
    result = process_scan(ProcessOptions(scan=scan, out_dir=out, texture_size=size, force=True), mem)
    total = time.perf_counter() - t0
    mem.close()
    return result.timings, mem.peaks, total, mem.peak_all


def run_peer(scan: Path, out: Path, lods: tuple[int, ...]) -> tuple[dict[str, float], float]:
    """The trimesh-only chain on the same scan: load, decimate, unwrap LOD0, export GLB."""
    import trimesh

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    mesh = trimesh.load(scan, process=True)
    t["load+merge"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    levels = [mesh.simplify_quadric_decimation(face_count=n) for n in lods]
    t["decimate"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    unwrapped = levels[0].unwrap()
    t["unwrap"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    unwrapped.export(out / "peer.glb")
    t["export"] = time.perf_counter() - t3
    return t, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--scan", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()
    scan = args.scan or dense_scan_path()
    out = Path(tempfile.mkdtemp(prefix="bm_pipeline_"))
    import trimesh

    m = trimesh.load(scan, process=False)
    print(f"input: {scan.name}: {len(m.vertices):,} vertices, {len(m.faces):,} triangles; albedo {args.size}px")
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    del m
    timings, peaks, total, peak_all = run_lifecast(scan, out / "asset", args.size)
    print(f"\n{'stage':<10}{'seconds':>10}{'peak RSS MiB':>15}")
    for stage, s in timings.items():
        print(f"{stage:<10}{s:>10.2f}{peaks.get(stage, 0.0):>15,.0f}")
    print(f"{'total':<10}{total:>10.2f}{peak_all:>15,.0f}")
    ok_t = "meets" if total <= TARGET_SECONDS else "MISSES"
    ok_m = "meets" if peak_all <= TARGET_PEAK_MB else "MISSES"
    print(f"target {TARGET_SECONDS:.0f} s: {ok_t}; target {TARGET_PEAK_MB:,.0f} MiB peak: {ok_m}")
    if not args.no_peer:
        peer, peer_total = run_peer(scan, out, (100_000, 25_000, 5_000))
        print("\npeer: trimesh load + simplify_quadric_decimation x3 + unwrap (xatlas) LOD0 + GLB export")
        for k, s in peer.items():
            print(f"  {k:<12}{s:>8.2f} s")
        print(f"  {'total':<12}{peer_total:>8.2f} s   (does no cleaning, no UVs for LOD1-2, no texture, no USD)")
        print(f"ratio peer/lifecast wall time: {peer_total / total:.2f}x")
    if args.keep:
        print(f"\noutput kept in {out}")
    else:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
