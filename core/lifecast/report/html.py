"""The QA report as one self-contained HTML page: every picture a PNG data URI, the style inline, no script.

Pure: :func:`render_report` takes a :class:`ReportPage` (arrays and numbers) and returns the HTML text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifecast.report.contact_sheet import ContactSheet, MapThumbnail
from lifecast.report.heatmap import ResidualScale
from lifecast.report.images import png_data_uri
from lifecast.report.views import HoleView, View

__all__ = ["STYLE", "ReportPage", "Residuals", "page", "render_report"]

#: The page's style: dark and neutral like a DCC, pictures on a darker ground.
STYLE = """
body{margin:0;padding:20px 28px;background:#1d1d1f;color:#ddd;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #3a3a3e;
padding-bottom:4px}h3{font-size:15px;margin:16px 0 8px;color:#bbb}
a{color:#8ab4f8}.muted{color:#999}.small{font-size:12px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;font-size:13px;
vertical-align:middle;margin-left:10px;text-transform:uppercase;letter-spacing:.04em}
.status-ok{background:#1f6f3a;color:#e6ffe9}.status-review{background:#8a5a00;color:#fff3d6}
.status-failed,.status-bad_input,.status-interrupted{background:#8b1e1e;color:#ffe3e3}
ul.warnings{margin:8px 0;padding-left:20px;color:#f0c36d}
.facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:8px 0}.facts span b{color:#fff;font-weight:600}
.row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;background:#141416;border:1px solid #333;border-radius:6px;padding:6px}
figure img{display:block;image-rendering:auto}
figcaption{font-size:12px;color:#bbb;margin-top:4px;max-width:256px}
figcaption b{color:#eee}
.cov{color:#9fd49f}.cov.low{color:#f0c36d}
table{border-collapse:collapse;margin:4px 0 8px}td,th{padding:3px 12px 3px 0;text-align:right}
th{color:#aaa;font-weight:500}td:first-child,th:first-child{text-align:left}
.changed{color:#9fd49f}.worse{color:#f28b82}
.scale{display:flex;align-items:stretch;margin:8px 0 2px;max-width:560px}
.scale .swatch{flex:1;height:16px}
.ticks{display:flex;justify-content:space-between;max-width:560px;font-size:12px;color:#bbb}
footer{margin-top:32px;color:#777;font-size:12px}
figure.asset{width:192px}figure.asset figcaption{overflow-wrap:anywhere}
.no-asset{width:192px;height:192px;display:flex;align-items:center;justify-content:center;background:#262628;
color:#777;font-size:13px}
"""


@dataclass(frozen=True)
class Residuals:
    """The wrap's residuals for the page: heatmap ``views``, their ``scale``, the report's numbers in mm."""

    views: list[View]
    scale: ResidualScale
    report: Mapping[str, Any]
    mean_mm: float
    p95_mm: float
    max_mm: float
    landmarks_mm: dict[str, float]


@dataclass(frozen=True)
class ReportPage:
    """Everything the page shows.

    ``qa`` is the asset's ``qa_report.json`` (the clean stage's numbers); ``lod_triangles`` the triangles of each
    LOD; ``holes`` views of the open holes of LOD0.
    """

    name: str
    status: str
    warnings: list[str]
    facts: list[tuple[str, str]]
    views: list[View]
    sheet: ContactSheet
    qa: Mapping[str, Any]
    units: str
    residuals: Residuals | None = None
    holes: list[HoleView] = field(default_factory=list)
    lod_triangles: dict[int, int] = field(default_factory=dict)
    renders: list[View] = field(default_factory=list)
    renders_note: str = ""
    footer: str = ""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def img(image: np.ndarray, alt: str, *, element_id: str | None = None, css: str = "") -> str:
    """An ``<img>`` holding ``image`` ((h, w, 3) uint8) as a PNG data URI, at its own pixel size."""
    h, w = image.shape[:2]
    ident = f' id="{esc(element_id)}"' if element_id else ""
    cls = f' class="{esc(css)}"' if css else ""
    return f'<img{ident}{cls} src="{png_data_uri(image)}" width="{w}" height="{h}" alt="{esc(alt)}">'


def page(title: str, body: str) -> str:
    """A complete HTML document: ``title``, the inline :data:`STYLE`, ``body``."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def render_report(report: ReportPage) -> str:
    """The QA report page of one asset."""
    parts = [_header(report), _views(report), _renders(report)]
    if report.residuals is not None:
        parts.append(_residuals(report.residuals))
    parts.append(_contact_sheet(report))
    parts.append(_clean(report))
    notes = report.qa.get("ingest_notes") or []
    if notes:
        parts.append("<h2>Ingest notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    if report.footer:
        parts.append(f"<footer>{esc(report.footer)}</footer>")
    return page(f"{report.name}: QA report", "\n".join(parts))


def _header(report: ReportPage) -> str:
    status = esc(report.status)
    out = [f'<h1>{esc(report.name)}<span class="badge status-{status}" id="status">{status}</span></h1>']
    if report.warnings:
        out.append('<ul class="warnings">' + "".join(f"<li>{esc(w)}</li>" for w in report.warnings) + "</ul>")
    out.append(
        '<div class="facts">' + "".join(f"<span>{esc(k)} <b>{esc(v)}</b></span>" for k, v in report.facts) + "</div>"
    )
    return "\n".join(out)


def _views(report: ReportPage) -> str:
    if not report.views:
        return ""
    figures = []
    for i, view in enumerate(report.views):
        ident = "hero" if i == 0 else None
        figures.append(
            f"<figure>{img(view.image, f'LOD0 {view.label}', element_id=ident)}"
            f"<figcaption>LOD0, {esc(view.label)}</figcaption></figure>"
        )
    return '<h2>Views</h2><div class="row">' + "".join(figures) + "</div>"


def _renders(report: ReportPage) -> str:
    if not report.renders:
        return ""
    figures = "".join(
        f"<figure>{img(v.image, f'render {v.label}')}<figcaption>{esc(v.label)}</figcaption></figure>"
        for v in report.renders
    )
    note = f'<p class="muted" id="renders-note">{esc(report.renders_note)}</p>' if report.renders_note else ""
    return f'<h2>Renders</h2><section id="renders">{note}<div class="row">{figures}</div></section>'


def _residuals(res: Residuals) -> str:
    report = res.report
    scale = res.scale
    colors = scale.colors()
    swatches = "".join(
        f'<div class="swatch" style="background:rgb({r},{g},{b})"></div>'
        for r, g, b in np.round(_ramp(scale) * 255).astype(int)
    )
    ticks = "".join(
        f'<span class="tick" data-mm="{t:.6g}" data-rgb="{",".join(str(int(c)) for c in np.round(rgb * 255))}">'
        f"{_mm(t)}</span>"
        for t, rgb in zip(scale.ticks_mm, colors, strict=True)
    )
    figures = "".join(
        f"<figure>{img(v.image, f'residual heatmap {v.label}')}<figcaption>{esc(v.label)}</figcaption></figure>"
        for v in res.views
    )
    rows = [
        ("template", report.get("template", "")),
        ("confidence", report.get("confidence", "")),
        ("mean distance", _mm(res.mean_mm)),
        ("95th percentile", _mm(res.p95_mm)),
        ("max distance", _mm(res.max_mm)),
        ("template over the scan", f"{float(report.get('coverage', 0.0)):.1%}"),
        ("flipped faces", report.get("flipped_faces", "")),
        ("degenerate faces", report.get("degenerate_faces", "")),
    ]
    table = "<table>" + "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows) + "</table>"
    landmarks = ""
    if res.landmarks_mm:
        landmarks = (
            "<h3>Landmark residuals</h3><table>"
            + "".join(
                f"<tr><td>{esc(k)}</td><td>{_mm(v)}</td></tr>"
                for k, v in sorted(res.landmarks_mm.items(), key=lambda kv: -kv[1])
            )
            + "</table>"
        )
    reasons = report.get("reasons") or []
    why = '<ul class="warnings">' + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>" if reasons else ""
    return (
        f'<h2>Wrap residuals</h2><section id="residuals" data-top-mm="{scale.top_mm:.6g}" '
        f'data-p95-mm="{res.p95_mm:.6g}" data-mean-mm="{res.mean_mm:.6g}" data-max-mm="{res.max_mm:.6g}">'
        f'<p class="muted">Distance of each template vertex to the scan, rendered on the wrapped mesh. '
        f"0 to {_mm(scale.top_mm)} (the wrap's 95th percentile is {_mm(scale.p95_mm)}); farther is clamped to the "
        "top colour, grey vertices are excluded from the fit.</p>"
        f'<div class="row">{figures}</div><div class="scale">{swatches}</div><div class="ticks">{ticks}</div>'
        f'{why}<div class="row"><div>{table}</div><div>{landmarks}</div></div></section>'
    )


def _ramp(scale: ResidualScale, steps: int = 48) -> np.ndarray:
    from lifecast.report.heatmap import colorize

    return colorize(np.linspace(0.0, scale.top_mm, steps), scale.top_mm)


def _contact_sheet(report: ReportPage) -> str:
    sheet = report.sheet
    if not sheet.thumbnails:
        return '<h2>Maps</h2><p class="muted">No maps were baked.</p>'
    out = ["<h2>Maps</h2>"]
    for lod in sheet.lods():
        entries = [t for t in sheet.thumbnails if t.map.lod == lod]
        size = f"{entries[0].width} px" if entries else ""
        tris = report.lod_triangles.get(lod)
        head = f"LOD{lod}" + (f", {tris:,} triangles" if tris else "") + (f", {size}" if size else "")
        out.append(f'<h3>{esc(head)}</h3><div class="row contact-sheet" data-lod="{lod}">')
        out.extend(_map_figure(t) for t in entries)
        out.append("</div>")
    return "\n".join(out)


def _map_figure(t: MapThumbnail) -> str:
    m = t.map
    coverage = ""
    if t.coverage is not None:
        low = " low" if t.coverage < 0.3 else ""
        coverage = f'<br><span class="cov{low}">coverage {t.coverage:.1%}</span>'
    note = f'<br><span class="muted">{esc(t.note)}</span>' if t.note else ""
    attrs = (
        f'class="map" data-lod="{m.lod}" data-channel="{esc(m.channel)}" data-udim="{m.udim}" '
        f'data-file="maps/{esc(m.path.name)}"'
        + (f' data-coverage="{t.coverage:.6f}"' if t.coverage is not None else "")
    )
    return (
        f"<figure {attrs}>{img(t.image, f'{m.channel} LOD{m.lod} {m.udim}')}"
        f"<figcaption><b>{esc(m.channel)}</b> {m.udim} \u00b7 {t.width}\u00d7{t.height} {esc(t.storage)}"
        f'{coverage}{note}<br><a href="maps/{esc(m.path.name)}">{esc(m.path.name)}</a></figcaption></figure>'
    )


#: The clean stage's counts shown before / after, with which direction is better.
_CLEAN_ROWS = (
    ("vertices", "vertices", None),
    ("faces", "faces", None),
    ("components", "components", "down"),
    ("holes", "holes", "down"),
    ("boundary edges", "boundary_edges", "down"),
    ("non-manifold edges", "non_manifold_edges", "down"),
    ("non-manifold vertices", "non_manifold_vertices", "down"),
    ("degenerate faces", "degenerate_faces", "down"),
    ("duplicate faces", "duplicate_faces", "down"),
    ("unreferenced vertices", "unreferenced_vertices", "down"),
    ("non-finite vertices", "non_finite_vertices", "down"),
    ("watertight", "watertight", None),
)


def _count(section: Mapping[str, Any], key: str) -> Any:
    value = section.get(key)
    if isinstance(value, Mapping):
        return value.get("count")
    return value


def _clean(report: ReportPage) -> str:
    qa = report.qa
    before, after = qa.get("before") or {}, qa.get("after") or {}
    if not before and not after:
        return ""
    rows = []
    for label, key, better in _CLEAN_ROWS:
        b, a = _count(before, key), _count(after, key)
        if b is None and a is None:
            continue
        css = ""
        if better == "down" and isinstance(a, int | float) and isinstance(b, int | float):
            css = ' class="changed"' if a < b else ' class="worse"' if a > b else ""
        rows.append(
            f'<tr data-key="{esc(key)}"><td>{esc(label)}</td><td>{esc(_fmt(b))}</td><td{css}>{esc(_fmt(a))}</td></tr>'
        )
    out = [
        "<h2>Clean</h2>",
        '<div class="row"><div><table id="clean-counts"><tr><th></th><th>before</th><th>after</th></tr>',
        "".join(rows),
        "</table></div>",
        _steps(qa.get("steps") or []),
        "</div>",
        _holes(report),
    ]
    return "\n".join(out)


def _steps(steps: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for step in steps:
        extra = {k: v for k, v in step.items() if k != "name"}
        if not any(v for v in extra.values() if isinstance(v, int | float)):
            continue
        what = ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in extra.items() if isinstance(v, int | float))
        rows.append(f"<tr><td>{esc(str(step.get('name', '')).replace('_', ' '))}</td><td>{esc(what)}</td></tr>")
    if not rows:
        return '<div><p class="muted">No repair step changed anything.</p></div>'
    return '<div><table id="clean-steps"><tr><th>repair</th><th>changed</th></tr>' + "".join(rows) + "</table></div>"


def _holes(report: ReportPage) -> str:
    qa, units = report.qa, report.units
    filled = qa.get("holes_filled") or []
    left = qa.get("holes_left") or []
    limit = qa.get("fill_holes_max_diameter")
    lines = [
        f"<h3>Holes</h3><p>{len(filled)} filled"
        + (f" (up to {_fmt(limit)} {esc(units)} across)" if limit is not None else "")
        + f', <b id="holes-left">{len(left)}</b> left open'
        + (": " + ", ".join(f"{_fmt(h.get('diameter'))} {esc(units)}" for h in left[:8]) if left else "")
        + ".</p>"
    ]
    if qa.get("wrap") and left:
        lines.append(
            '<p class="muted">These are the scan\'s holes; the asset is the wrapped template, which spans them.</p>'
        )
    ground = qa.get("ground_plane") or {}
    if ground.get("found"):
        lines.append(f"<p>Turntable / ground plane removed: {_fmt(ground.get('faces_removed'))} faces.</p>")
    if report.holes:
        figures = "".join(
            f'<figure class="hole">{img(h.image, h.label)}<figcaption><b>{esc(h.label)}</b> '
            f"{_fmt(h.diameter)} {esc(units)} across, {h.edges} edges</figcaption></figure>"
            for h in report.holes
        )
        lines.append(
            '<p class="muted">Holes left open, their rims in red, seen from outside (on the coarsest LOD).</p>'
            f'<div class="row">{figures}</div>'
        )
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def _mm(value: float) -> str:
    return f"{value:.3g} mm" if np.isfinite(value) else "n/a"
