"""Terminal rendering of the event stream: progress bars per stage, QA lines, a summary table.

The CLI's ``--json`` flag swaps this for :class:`~lifecast.worker.events.JsonLinesSink`;
both see the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from lifecast.worker.events import Event


class RichProgressSink:
    """Shows one progress bar per stage on stderr, plus warnings and logs as they come."""

    def __init__(self, console: Console | None = None, verbose: bool = False) -> None:
        self.console = console if console is not None else Console(stderr=True)
        self.verbose = verbose
        self.progress = Progress(
            TextColumn("[bold]{task.fields[stage]:<8}"),
            BarColumn(bar_width=30),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[message]}", style="dim"),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started = False

    def emit(self, event: Event) -> None:
        d = event.data
        if event.type == "stage_start":
            self._start()
            msg = "cached" if d.get("cached") else ""
            self.tasks[d["stage"]] = self.progress.add_task("", total=1.0, stage=d["stage"], message=msg)
        elif event.type == "progress" and d.get("stage") in self.tasks:
            self.progress.update(self.tasks[d["stage"]], completed=d["fraction"], message=d.get("message", ""))
        elif event.type == "stage_end" and d.get("stage") in self.tasks:
            note = "cached" if d.get("cached") else f"{d.get('seconds', 0):.1f} s"
            self.progress.update(self.tasks[d["stage"]], completed=1.0, message=note)
        elif event.type == "warning":
            self.progress.console.print(f"[yellow]warning[/] {_where(d)}{d.get('message', '')}")
        elif event.type == "log" and self.verbose:
            self.progress.console.print(f"[dim]{_where(d)}{d.get('message', '')}[/]")
        elif event.type in ("done", "error"):
            self.stop()

    def _start(self) -> None:
        if not self.started:
            self.progress.start()
            self.started = True

    def stop(self) -> None:
        if self.started:
            self.progress.stop()
            self.started = False


def _where(d: Mapping[str, Any]) -> str:
    return f"[{d['stage']}] " if d.get("stage") else ""


def qa_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """One (check, result) pair per QA check, from a clean report or a plain QA report."""
    before = report.get("before", report)
    after = report.get("after")
    units = before.get("units", "")

    def pair(key: str, fmt: str = "{:,}") -> str:
        b = _count(before.get(key))
        if after is None:
            return fmt.format(b) if b is not None else "-"
        a = _count(after.get(key))
        if b is None or a is None:
            return "-"
        return f"{fmt.format(b)} -> {fmt.format(a)}"

    lines = [
        ("vertices", pair("vertices")),
        ("faces", pair("faces")),
        ("components", pair("components")),
        ("holes", pair("holes")),
        ("boundary edges", pair("boundary_edges")),
        ("non-manifold edges", pair("non_manifold_edges")),
        ("degenerate faces", pair("degenerate_faces")),
        ("duplicate faces", pair("duplicate_faces")),
        ("non-finite vertices", pair("non_finite_vertices")),
    ]
    final = after if after is not None else before
    bbox = final.get("bbox") or {}
    size = bbox.get("size")
    if size:
        lines.append(("bounding box", " x ".join(f"{s:.2f}" for s in size) + f" {final.get('units', units)}"))
    if after is not None:
        left = report.get("holes_left") or []
        filled = report.get("holes_filled") or []
        lines.append(("holes filled / left", f"{_len(filled)} / {_len(left)}"))
        if left:
            biggest = max(float(h.get("diameter", 0.0)) for h in left)
            lines.append(("largest open hole", f"{biggest:.2f} {final.get('units', units)} across"))
        plane = report.get("ground_plane")
        lines.append(("ground plane", "removed" if plane else "none found"))
    return lines


def _count(value: Any) -> int | None:
    """A count from a report value: an int, or a dict/list whose size is the count."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, Mapping):
        c = value.get("count")
        return int(c) if c is not None else None
    if isinstance(value, list | tuple):
        return len(value)
    return None


def _len(value: Any) -> int:
    if isinstance(value, int):
        return value
    return len(value) if value is not None else 0


def print_qa(console: Console, report: Mapping[str, Any], title: str = "QA") -> None:
    """A line per check: the terminal half of the QA report."""
    for check, result in qa_lines(report):
        console.print(f"[bold]{title}[/] {check:<22} {result}")


def summary_table(
    timings: Mapping[str, float], cached: Mapping[str, bool], peak_mb: float, outputs: Mapping[str, str]
) -> Table:
    """Per-stage time and cache status, peak memory and the asset's files."""
    table = Table(title="lifecast process", show_edge=False)
    table.add_column("stage")
    table.add_column("time", justify="right")
    table.add_column("cache")
    for stage, seconds in timings.items():
        table.add_row(stage, f"{seconds:.2f} s", "hit" if cached.get(stage) else "ran")
    table.add_row("[bold]total", f"[bold]{sum(timings.values()):.2f} s", f"peak {peak_mb:,.0f} MiB")
    return table
