"""A step's result as label/value rows, not raw JSON."""

from __future__ import annotations

from tests.hosts.plugin_paths import add_plugin_paths

add_plugin_paths()

from lifecast_panel.summaries import SummaryRow, format_value, label_for, summary_rows, summary_text  # noqa: E402

QA = {
    "units": "mm",
    "up": "z",
    "vertices": 12480,
    "faces": 24900,
    "components": {"count": 3, "largest": [{"faces": 24000, "area": 1.5}]},
    "holes": {"count": 2, "list": [{"edges": 12, "perimeter": 30.5, "diameter": 9.1}]},
    "non_manifold_edges": 0,
    "watertight": False,
    "bbox": {"min": [0, 0, 0], "max": [180.0, 240.0, 210.5], "size": [180.0, 240.0, 210.5]},
    "surface_area": 123456.789,
    "notes": ["units guessed from the size"],
}

WRAP = {
    "mean_distance": 0.000412,
    "p95_distance": 0.0012,
    "coverage": 0.9721,
    "landmark_residuals": {"nose_tip": 0.0011, "chin": 0.0023},
    "flipped_faces": 0,
    "confidence": "high",
    "reasons": [],
}


def test_values_read_as_numbers_not_json() -> None:
    assert format_value(1234567) == "1,234,567" and format_value(0.000412) == "0.000412"
    assert format_value(True) == "yes" and format_value(None) == "–" and format_value(0.9721, "coverage") == "97.2 %"
    assert format_value([180.0, 240.0, 210.5], "size") == "180 × 240 × 210.5"
    assert format_value({"count": 3, "largest": []}) == "3"
    assert format_value({"albedo": 1.25, "normal": 0.5}, "seconds") == "albedo 1.25 s, normal 0.5 s"
    assert format_value(list(range(12))) == "0, 1, 2, 3, 4, 5, 6, 7 (+4 more)"
    assert label_for("non_manifold_edges") == "Non-manifold edges" and label_for("cage_misses") == "Cage misses"


def test_the_qa_report_comes_first_in_a_fixed_order() -> None:
    rows = summary_rows({"report": QA})
    assert rows[0] == SummaryRow("Scan", section=True)
    labels = [r.label for r in rows[1:]]
    assert labels[:5] == ["Units", "Up axis", "Vertices", "Faces", "Components"]
    values = {r.label: r.value for r in rows}
    assert values["Vertices"] == "12,480" and values["Holes"] == "2" and values["Watertight"] == "no"
    assert values["Size"] == "180 × 240 × 210.5" and values["Note"] == "units guessed from the size"
    assert not any("{" in r.value for r in rows)  # nothing shown as raw JSON


def test_stage_summaries_and_the_residual_report_get_a_section_each() -> None:
    result = {
        "stages": {"clean": {"faces_before": 30000, "faces_after": 24900}, "wrap": WRAP, "uv": {}},
        "cached": ["clean"],
        "asset": "/out/asset.usda",
    }
    text = summary_text(result)
    assert "[Clean (cached)]" in text and "Faces after: 24,900" in text and "[Uv]" not in text  # empty: no section
    assert "Coverage: 97.2 %" in text and "95th percentile distance: 0.0012" in text
    assert "Landmark residuals: 2 landmarks" in text and "    chin: 0.0023" in text
    assert text.endswith("[Asset]\nFile: /out/asset.usda")


def test_the_template_facts() -> None:
    rows = summary_rows({"template": {"template": "anny-head", "landmarks": ["a", "b"], "vertices": 14000}})
    assert [(r.label, r.value) for r in rows] == [
        ("Template", ""),
        ("Template", "anny-head"),
        ("Vertices", "14,000"),
        ("Landmarks", "2"),
    ]
