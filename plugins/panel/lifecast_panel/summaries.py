"""A step's result as rows an artist reads: "Faces  12,480", "Coverage  97.2 %". No Qt.

The worker's summaries are JSON (stage summaries, the inspect QA report, the wrap's
residual report, the template's facts). :func:`summary_rows` turns them into
labelled rows grouped in sections; the widgets only lay the rows out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SummaryRow", "format_value", "label_for", "summary_rows", "summary_text"]


@dataclass(frozen=True)
class SummaryRow:
    """One line of a result: a section heading (``value`` empty) or a label and its value."""

    label: str
    value: str = ""
    section: bool = False


#: Labels for the keys the worker uses, where ``key.replace("_", " ")`` reads badly.
LABELS = {
    "up": "Up axis",
    "scan_up": "Up axis",
    "scan_units": "Units",
    "non_manifold_edges": "Non-manifold edges",
    "non_manifold_vertices": "Non-manifold vertices",
    "faces_before": "Faces before",
    "faces_after": "Faces after",
    "holes_left": "Holes left",
    "uv_sets": "UV sets",
    "lods": "LODs",
    "has_uvs": "Has UVs",
    "mean_distance": "Mean distance",
    "p95_distance": "95th percentile distance",
    "max_distance": "Max distance",
    "landmark_residuals": "Landmark residuals",
    "landmark_mean_residual": "Mean landmark residual",
    "coverage_mean": "Mean coverage",
    "bbox": "Bounding box",
    "colour": "Colour from",
    "validation_errors": "Validation errors",
    "delit_lods": "Delit LODs",
    "weights": "Model weights",
    "rig_format": "Camera rig",
    "photos_used": "Photos used",
    "photos_skipped": "Photos skipped",
    "coverage_percent": "Coverage (%)",
}

#: Keys whose value is a share in [0, 1], shown as a percentage.
SHARES = {"coverage", "coverage_mean"}

#: Keys of the QA report shown first, in this order (the rest follow as they come).
QA_ORDER = (
    "units",
    "up",
    "vertices",
    "faces",
    "components",
    "holes",
    "boundary_edges",
    "non_manifold_edges",
    "non_manifold_vertices",
    "degenerate_faces",
    "duplicate_faces",
    "unreferenced_vertices",
    "non_finite_vertices",
    "watertight",
    "surface_area",
    "bbox",
)


def label_for(key: str) -> str:
    """The label of a summary key: ``non_manifold_edges`` -> ``Non-manifold edges``."""
    if key in LABELS:
        return LABELS[key]
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_value(value: Any, key: str = "") -> str:
    """A JSON value as short text: thousands separators, 4 significant digits, yes/no, lists joined."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if key in SHARES and 0.0 <= value <= 1.0:
            return f"{value * 100:.1f} %"
        if value != value:  # NaN
            return "–"
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value) and len(value) <= 4:
            return (
                " × ".join(format_value(v) for v in value)
                if key in ("size", "bbox")
                else ", ".join(format_value(v) for v in value)
            )
        if all(isinstance(v, str | int | float) for v in value):
            shown = [format_value(v) for v in value[:8]]
            more = f" (+{len(value) - 8} more)" if len(value) > 8 else ""
            return ", ".join(shown) + more
        return f"{len(value)} items"
    if isinstance(value, Mapping):
        if "count" in value:
            return format_value(value["count"])
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
            unit = " s" if key == "seconds" else ""
            return ", ".join(f"{k} {format_value(v)}{unit}" for k, v in value.items())
        return f"{len(value)} entries"
    return str(value)


def _mapping_rows(data: Mapping[str, Any], order: Iterable[str] = (), indent: str = "") -> list[SummaryRow]:
    """Rows of one summary object; a nested object of numbers per name (residuals) gets a row per name."""
    keys = [k for k in order if k in data] + [k for k in data if k not in set(order)]
    rows: list[SummaryRow] = []
    for key in keys:
        value = data[key]
        if key == "bbox" and isinstance(value, Mapping) and "size" in value:
            rows.append(SummaryRow(f"{indent}Size", format_value(value["size"], "size")))
            continue
        if key in ("notes", "reasons") and isinstance(value, list):
            rows.extend(SummaryRow(f"{indent}{'Note' if key == 'notes' else 'Why'}", str(v)) for v in value)
            continue
        if key == "landmark_residuals" and isinstance(value, Mapping):
            rows.append(SummaryRow(f"{indent}{label_for(key)}", f"{len(value)} landmarks" if value else "none"))
            rows.extend(SummaryRow(f"{indent}    {name}", format_value(v, key)) for name, v in value.items())
            continue
        rows.append(SummaryRow(f"{indent}{label_for(key)}", format_value(value, key)))
    return rows


def summary_rows(result: Mapping[str, Any]) -> list[SummaryRow]:
    """The rows of a step's result, in sections.

    ``result`` is what the controller records for a step: ``report`` (the inspect
    QA report), ``stages`` (stage name -> its summary), ``cached`` (names of the
    stages that came from the cache), ``template`` (the template job's facts) and
    ``asset`` (the exported file).
    """
    rows: list[SummaryRow] = []
    report = result.get("report")
    if isinstance(report, Mapping):
        after = report.get("after")
        rows.append(SummaryRow("Scan", section=True))
        rows.extend(_mapping_rows(after if isinstance(after, Mapping) else report, QA_ORDER))
    template = result.get("template")
    if isinstance(template, Mapping):
        rows.append(SummaryRow("Template", section=True))
        facts = {k: v for k, v in template.items() if k not in ("landmarks", "ok", "outputs", "seconds")}
        rows.extend(_mapping_rows(facts, ("template", "vertices", "faces", "has_uvs")))
        names = template.get("landmarks")
        if isinstance(names, list):
            rows.append(SummaryRow("Landmarks", format_value(len(names))))
    cached = set(result.get("cached") or ())
    for stage, summary in (result.get("stages") or {}).items():
        if not summary:
            continue
        note = " (cached)" if stage in cached else ""
        rows.append(SummaryRow(f"{label_for(stage)}{note}", section=True))
        rows.extend(_mapping_rows(summary) if isinstance(summary, Mapping) else [SummaryRow("Result", str(summary))])
    if result.get("asset"):
        rows.append(SummaryRow("Asset", section=True))
        rows.append(SummaryRow("File", str(result["asset"])))
    return rows


def summary_text(result: Mapping[str, Any]) -> str:
    """The rows as plain text, one ``label: value`` a line (for copying and for tests)."""
    return "\n".join(f"[{r.label}]" if r.section else f"{r.label}: {r.value}" for r in summary_rows(result))
