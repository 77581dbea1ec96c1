"""Many scans on one machine: a bounded pool of ``lifecast farm task`` subprocesses.

Each scan runs in its own process (so one crash, leak or bad scan never takes
the others down), with its JSON-lines events in ``OUTROOT/.lifecast/logs/<out>.jsonl``
and its stderr beside them. As many run at once as the cores and the available
memory allow (:func:`plan_concurrency`, from :mod:`lifecast.farm.sizing`).
The report (:class:`BatchReport`) says per scan whether it succeeded, its exit
code, whether a retry could help, the error message, seconds and peak memory;
``OUTROOT/index.html`` (:mod:`lifecast.report.batch_index`) links every asset's
QA report page with a thumbnail and its status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from lifecast.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from lifecast.farm.manifest import Manifest, ScanTask
from lifecast.farm.sizing import estimate_memory_mib
from lifecast.farm.tasks import write_task_table
from lifecast.pipeline.atomic import write_text_atomic
from lifecast.report.batch_index import write_batch_index
from lifecast.resources import available_memory_mib, peak_rss_mb
from lifecast.worker.events import parse_event

#: Exit code -> (status, worth retrying).
STATUS = {
    EXIT_OK: ("ok", False),
    EXIT_INTERNAL: ("failed", True),
    EXIT_BAD_INPUT: ("bad_input", False),
    EXIT_INTERRUPTED: ("interrupted", True),
    128 + signal.SIGTERM: ("interrupted", True),
}


@dataclass
class ScanResult:
    """How one scan of a batch went."""

    out: str
    scan: str
    exit_code: int
    status: str
    retry: bool
    message: str | None
    seconds: float
    peak_rss_mib: float
    estimate_mib: int
    stages_cached: int
    log: str


@dataclass
class BatchReport:
    """Everything a batch did, JSON-ready (:meth:`to_json`)."""

    manifest: str
    out_root: str
    cache: str
    jobs: int
    seconds: float = 0.0
    results: list[ScanResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.exit_code == EXIT_OK for r in self.results)

    def exit_code(self) -> int:
        """0 when every scan succeeded; 1 if any failure may pass on a retry; else 2 (bad input only)."""
        codes = {r.exit_code for r in self.results} - {EXIT_OK}
        if not codes:
            return EXIT_OK
        return EXIT_BAD_INPUT if codes == {EXIT_BAD_INPUT} else EXIT_INTERNAL

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["succeeded"] = [r.out for r in self.results if r.exit_code == EXIT_OK]
        body["failed"] = [r.out for r in self.results if r.exit_code != EXIT_OK]
        body["scans_per_hour"] = round(3600.0 * len(self.results) / self.seconds, 1) if self.seconds else None
        return body


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def plan_concurrency(estimates_mib: Sequence[int], cores: int, available_mib: float) -> int:
    """How many scans to run at once: at most one per core, and only as many as fit in memory.

    Uses the median estimate: the scheduler checks the actual memory of each
    scan as it starts it (:func:`run_batch`), so a few large ones do not hold
    every small one back.
    """
    if not estimates_mib:
        return 1
    typical = sorted(estimates_mib)[len(estimates_mib) // 2]
    by_memory = int(available_mib // max(typical, 1))
    return max(1, min(cores, by_memory, len(estimates_mib)))


@dataclass
class _Running:
    index: int
    proc: subprocess.Popen[bytes]
    start: float
    estimate: int
    log: Path
    files: list[IO[bytes]]


def run_batch(
    manifest: Manifest,
    out_root: Path,
    *,
    cache: Path | None = None,
    jobs: int | None = None,
    on_result: Callable[[ScanResult, int, int], None] | None = None,
    python: str = sys.executable,
) -> BatchReport:
    """Process every scan of ``manifest`` into ``out_root/<out>``; never stops at a failed scan.

    Parameters
    ----------
    manifest
        The scans (:func:`lifecast.farm.manifest.load_manifest`).
    out_root
        Output root; bookkeeping goes to ``out_root/.lifecast/`` (task table,
        logs, ``batch_report.json``).
    cache
        Stage cache (default ``out_root/.lifecast/cache``); share one across
        batches and machines so unchanged scans are never processed twice.
    jobs
        Scans at once; default from cores and memory (:func:`plan_concurrency`).
    on_result
        Called with each finished scan's result, how many are done, and the total.
    python
        Interpreter that runs the tasks (this one by default).

    Returns
    -------
    BatchReport
        Also written to ``out_root/.lifecast/batch_report.json``; ``out_root/index.html`` links each
        asset's ``qa_report.html``.
    """
    out_root = Path(out_root).resolve()
    meta = out_root / ".lifecast"
    cache = Path(cache).resolve() if cache is not None else meta / "cache"
    table = write_task_table(manifest, meta / "batch_tasks.json")
    estimates = [estimate_memory_mib(t) for t in manifest.scans]
    budget = available_memory_mib()
    jobs = jobs or plan_concurrency(estimates, cpu_count(), budget)
    report = BatchReport(str(manifest.path), str(out_root), str(cache), jobs)
    (meta / "logs").mkdir(parents=True, exist_ok=True)

    running: dict[int, _Running] = {}
    results: dict[int, ScanResult] = {}
    t0 = time.perf_counter()
    pending: list[int] = []
    for i, task in enumerate(manifest.scans):
        if Path(task.scan).is_file():
            pending.append(i)
            continue
        # Reported at once, without a process: a manifest of 10,000 scans with a few missing runs the rest.
        results[i] = _missing(task, estimates[i])
        if on_result is not None:
            on_result(results[i], len(results), len(manifest.scans))
    try:
        while pending or running:
            while pending and len(running) < jobs and _fits(estimates[pending[0]], running, budget):
                i = pending.pop(0)
                running[i] = _start(i, manifest.scans[i].out, estimates[i], table, out_root, cache, meta, python)
            time.sleep(0.05)
            for i, run in list(running.items()):
                finished = _reap(run)
                if finished is None:
                    continue
                code, peak = finished
                del running[i]
                results[i] = _result(manifest, run, code, peak)
                if on_result is not None:
                    on_result(results[i], len(results), len(manifest.scans))
    except BaseException:
        _stop_all(running)
        raise
    finally:
        report.seconds = round(time.perf_counter() - t0, 3)
        report.results = [results[i] for i in sorted(results)]
        body = report.to_json()
        write_text_atomic(meta / "batch_report.json", json.dumps(body, indent=1) + "\n")
        write_batch_index(body["results"], out_root, f"lifecast batch: {Path(manifest.path).name}")
    return report


def _fits(estimate: int, running: dict[int, _Running], budget: float) -> bool:
    """Start one more scan only if the running ones plus it fit (one always may run)."""
    return not running or sum(r.estimate for r in running.values()) + estimate <= budget


def _start(
    index: int, out: str, estimate: int, table: Path, out_root: Path, cache: Path, meta: Path, python: str
) -> _Running:
    log = meta / "logs" / f"{out}.jsonl"
    stdout = log.open("wb")
    stderr = (meta / "logs" / f"{out}.stderr.log").open("wb")
    argv = [python, "-m", "lifecast.cli", "farm", "task", str(table), "--index", str(index)]
    argv += ["--out-root", str(out_root), "--cache", str(cache)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
    return _Running(index, proc, time.perf_counter(), estimate, log, [stdout, stderr])


def _reap(run: _Running) -> tuple[int, float] | None:
    """``(exit code, peak RSS MiB)`` of a finished task, or ``None`` while it runs.

    ``os.wait4`` gives the child's own resource usage, so each scan's peak
    memory is measured without sampling.
    """
    pid, status, usage = os.wait4(run.proc.pid, os.WNOHANG)
    if pid == 0:
        return None
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: report it the way a shell does
        code = 128 - code
    run.proc.returncode = code
    for fh in run.files:
        fh.close()
    return code, peak_rss_mb(usage)


def _result(manifest: Manifest, run: _Running, code: int, peak: float) -> ScanResult:
    task = manifest.scans[run.index]
    status, retry = STATUS.get(code, ("failed", True))
    message: str | None = None
    cached = 0
    for line in run.log.read_text(errors="replace").splitlines():
        event = parse_event(line)
        if event is None:
            continue
        if event.type == "error":
            message = str(event.data.get("message"))
        elif event.type == "stage_end" and event.data.get("cached"):
            cached += 1
    if code != EXIT_OK and message is None:
        message = _last_stderr_line(run.log.with_suffix(".stderr.log")) or f"exit code {code}"
    return ScanResult(
        out=task.out,
        scan=str(task.scan),
        exit_code=code,
        status=status,
        retry=retry,
        message=message,
        seconds=round(time.perf_counter() - run.start, 3),
        peak_rss_mib=round(peak, 1),
        estimate_mib=run.estimate,
        stages_cached=cached,
        log=str(run.log),
    )


def _missing(task: ScanTask, estimate: int) -> ScanResult:
    """The result of a scan whose file is not there when the batch starts (bad input: no retry helps)."""
    status, retry = STATUS[EXIT_BAD_INPUT]
    return ScanResult(
        out=task.out,
        scan=str(task.scan),
        exit_code=EXIT_BAD_INPUT,
        status=status,
        retry=retry,
        message=f"{task.scan}: the scan file does not exist",
        seconds=0.0,
        peak_rss_mib=0.0,
        estimate_mib=estimate,
        stages_cached=0,
        log="",
    )


def _last_stderr_line(path: Path) -> str | None:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return None
    return lines[-1] if lines else None


def _stop_all(running: dict[int, _Running]) -> None:
    """Ask every running task to stop (SIGTERM: they clean their temp files), then wait for them."""
    for run in running.values():
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
    for run in running.values():
        try:
            run.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.proc.kill()
            run.proc.wait()
        for fh in run.files:
            fh.close()
