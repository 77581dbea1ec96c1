"""The index page of a batch: every asset's report linked, with a thumbnail of it and its status."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.report import INDEX_NAME, REPORT_NAME
from lifecast.report.html import esc, img, page

__all__ = ["IndexRow", "ReportSummary", "build_batch_index", "read_report_summary", "write_batch_index"]

#: Longest side of an asset's thumbnail on the index, pixels.
THUMBNAIL_SIZE = 192


@dataclass(frozen=True)
class ReportSummary:
    """What the index shows of an asset's report: its QA ``status`` and its first view (``hero``, a PNG)."""

    status: str | None
    hero_png: bytes | None


class _SummaryParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.hero: str | None = None
        self._in_status = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img" and a.get("id") == "hero":
            self.hero = a.get("src")
        self._in_status = a.get("id") == "status"

    def handle_data(self, data: str) -> None:
        if self._in_status and self.status is None and data.strip():
            self.status = data.strip()

    def handle_endtag(self, tag: str) -> None:
        self._in_status = False


def read_report_summary(report: Path) -> ReportSummary:
    """The status and first view of an asset's ``qa_report.html`` (``None`` fields when it has none)."""
    try:
        text = report.read_text(encoding="utf-8")
    except OSError:
        return ReportSummary(None, None)
    parser = _SummaryParser()
    parser.feed(text)
    hero = None
    prefix = "data:image/png;base64,"
    if parser.hero and parser.hero.startswith(prefix):
        hero = base64.b64decode(parser.hero[len(prefix) :])
    return ReportSummary(parser.status, hero)


@dataclass(frozen=True)
class IndexRow:
    """One asset on the index: its folder ``out``, the batch ``status`` and error ``message``, its report."""

    out: str
    scan: str
    status: str
    message: str | None
    seconds: float | None
    report: Path | None
    summary: ReportSummary


def build_batch_index(results: Sequence[Mapping[str, Any]], out_root: Path, title: str = "lifecast batch") -> str:
    """The index page of a batch in ``out_root``.

    Parameters
    ----------
    results
        One mapping per scan, as ``BatchReport.to_json()["results"]`` holds them (``out``, ``scan``,
        ``status``, ``message``, ``seconds``).
    out_root
        The batch's output root: asset ``out`` is in ``out_root/out``, its report at ``out/qa_report.html``.

    Returns
    -------
    str
        A self-contained page; links to the reports are relative (``<out>/qa_report.html``), so the output
        root can be moved or shared as a whole. Failed scans show their error line and link no report (an
        older run's report describes another asset).
    """
    rows = []
    for r in results:
        out = str(r.get("out", ""))
        ok = r.get("status") == "ok"
        report = out_root / out / REPORT_NAME
        has_report = ok and report.is_file()
        summary = read_report_summary(report) if has_report else ReportSummary(None, None)
        rows.append(
            IndexRow(
                out=out,
                scan=str(r.get("scan", "")),
                status=str(r.get("status", "")),
                message=r.get("message"),
                seconds=r.get("seconds"),
                report=report if has_report else None,
                summary=summary,
            )
        )
    failed = sum(1 for row in rows if row.status != "ok")
    head = (
        f'<h1>{esc(title)}</h1><div class="facts"><span>scans <b>{len(rows)}</b></span>'
        f"<span>ok <b>{len(rows) - failed}</b></span><span>failed <b>{failed}</b></span>"
        f"<span>review <b>{sum(1 for row in rows if row.summary.status == 'review')}</b></span></div>"
    )
    body = head + '<div class="row">' + "".join(_card(row) for row in rows) + "</div>"
    return page(title, body)


def write_batch_index(results: Sequence[Mapping[str, Any]], out_root: Path, title: str = "lifecast batch") -> Path:
    """Write :func:`build_batch_index` to ``out_root/index.html`` atomically; returns its path."""
    from lifecast.pipeline.atomic import write_text_atomic

    path = out_root / INDEX_NAME
    write_text_atomic(path, build_batch_index(results, out_root, title))
    return path


def _card(row: IndexRow) -> str:
    status = row.status if row.status != "ok" else (row.summary.status or "ok")
    badge = f'<span class="badge status-{esc(status)}">{esc(status)}</span>'
    picture = '<div class="no-asset">no asset</div>' if row.status != "ok" else ""
    if row.summary.hero_png is not None:
        picture = img(_thumbnail(row.summary.hero_png), f"{row.out}")
    title = f"<b>{esc(row.out)}</b>"
    if row.report is not None:
        href = f"{esc(row.out)}/{REPORT_NAME}"
        picture = f'<a href="{href}">{picture}</a>' if row.summary.hero_png is not None else picture
        title = f'<a class="report" href="{href}"><b>{esc(row.out)}</b></a>'
    error = f'<br><span class="worse">{esc(row.message)}</span>' if row.status != "ok" and row.message else ""
    secs = f" \u00b7 {row.seconds:.1f} s" if isinstance(row.seconds, int | float) else ""
    return (
        f'<figure class="asset" data-out="{esc(row.out)}" data-status="{esc(row.status)}">{picture}'
        f'<figcaption>{title}{badge}<br><span class="muted">{esc(Path(row.scan).name)}{secs}</span>'
        f"{error}</figcaption></figure>"
    )


def _thumbnail(png: bytes) -> NDArray[np.uint8]:
    import cv2

    from lifecast.report.images import thumbnail

    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("the report's view is not a PNG")
    return np.asarray(thumbnail(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), THUMBNAIL_SIZE), np.uint8)
