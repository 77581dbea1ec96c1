"""The visual QA report on small synthetic assets: pictures, contact sheet, coverage, heatmap, batch index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifecast.bake.images import write_exr, write_png
from lifecast.mesh import TriMesh
from lifecast.pipeline.publish import publish
from lifecast.report.asset_files import AssetMesh, find_maps, read_asset_mesh
from lifecast.report.batch_index import build_batch_index, read_report_summary
from lifecast.report.build import assess, build_qa_report
from lifecast.report.contact_sheet import mask_coverage
from lifecast.report.heatmap import MIN_SCALE_MM, colorize, heatmap_views, nice_ceiling, residual_scale
from lifecast.report.images import display_map
from lifecast.report.views import HOLE_COLOR, hole_views, shaded_views
from lifecast.worker.events import CollectingSink
from tests.conftest import grid_plane
from tests.report_checks import check_references, decode_png

GREEN, RED = (40, 200, 60), (210, 40, 30)


def _plane_with_uvs(n: int = 24) -> TriMesh:
    """A unit square in XY facing +Z (towards the front view), UVs = its XY."""
    plane = grid_plane(n, 1.0)
    uvs = np.asarray(plane.vertices[:, :2], np.float32)
    return plane.with_(uvs=uvs, face_uvs=np.asarray(plane.faces, np.int32))


def _write_asset(root: Path, name: str = "tile", size: int = 64, coverage_rows: int = 24) -> Path:
    """An asset whose albedo is green in its top half (v > 0.5) and red below; the mask covers
    ``coverage_rows`` of ``size`` rows, so its coverage is exactly ``coverage_rows / size``."""
    from lifecast.usd import export_asset

    maps = root / "maps"
    albedo = np.zeros((size, size, 3), np.uint8)
    albedo[: size // 2] = GREEN  # row 0 is v = 1, the top
    albedo[size // 2 :] = RED
    write_png(maps / f"{name}_lod0_albedo.1001.png", albedo)
    normal = np.full((size, size, 3), 32768, np.uint16)
    normal[..., 2] = 65535
    write_png(maps / f"{name}_lod0_normal.1001.png", normal)
    disp = np.linspace(-0.2, 0.6, size * size, dtype=np.float32).reshape(size, size)
    write_exr(maps / f"{name}_lod0_displacement.1001.exr", disp)
    mask = np.zeros((size, size), np.uint8)
    mask[:coverage_rows] = 255
    write_png(maps / f"{name}_lod0_mask.1001.png", mask)
    (maps / "notes.txt").write_text("not a map")
    export_asset(
        root,
        name,
        [_plane_with_uvs()],
        albedo=[f"maps/{name}_lod0_albedo.1001.png"],
        normal=[f"maps/{name}_lod0_normal.1001.png"],
        displacement=[f"maps/{name}_lod0_displacement.1001.exr"],
    )
    return root


QA = {
    "before": {"units": "cm", "vertices": 700, "faces": 1200, "components": {"count": 3}, "non_manifold_edges": 4},
    "after": {"units": "cm", "vertices": 576, "faces": 1058, "components": {"count": 1}, "non_manifold_edges": 0},
    "steps": [{"name": "floaters", "removed": 2, "faces_removed": 142}, {"name": "ground_plane", "removed": 0}],
    "holes_filled": [],
    "holes_left": [],
    "ingest_notes": ["units: mm (declared by the file)"],
}


@pytest.fixture(scope="module")
def asset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_asset(tmp_path_factory.mktemp("asset") / "tile")


@pytest.fixture(scope="module")
def report_page(asset_dir: Path) -> Path:
    page = asset_dir / "qa_report.html"
    page.write_text(build_qa_report(asset_dir, QA, thumbnail_size=48, view_size=96), encoding="utf-8")
    return page


def test_every_picture_is_an_embedded_png_and_every_link_resolves(report_page: Path) -> None:
    page = check_references(report_page)
    assert "<style>" in report_page.read_text() and "http" not in report_page.read_text()
    assert page.by_id["status"] and "tile" in page.text


def test_the_contact_sheet_has_one_entry_per_map_with_its_mask_coverage(report_page: Path, asset_dir: Path) -> None:
    page = check_references(report_page)
    files = sorted(p.name for p in (asset_dir / "maps").iterdir() if p.suffix in (".png", ".exr"))
    assert sorted(Path(m["data-file"]).name for m in page.maps) == files
    assert [m["data-channel"] for m in page.maps] == ["albedo", "normal", "displacement", "mask"]
    import cv2

    measured = float((cv2.imread(str(asset_dir / "maps" / "tile_lod0_mask.1001.png"), 0) > 127).mean())
    assert measured == pytest.approx(24 / 64)
    for m in page.maps:
        assert float(m["data-coverage"]) == pytest.approx(measured, abs=1e-6)
    assert page.text.count(f"coverage {measured:.1%}") == 4, "the coverage is printed under every map"


def test_the_displacement_is_shown_about_zero_with_its_range_printed(report_page: Path) -> None:
    page = check_references(report_page)
    text = " ".join(page.text)
    # The mask covers the top 24 rows: the range is measured there, not over the padding.
    covered = np.linspace(-0.2, 0.6, 64 * 64, dtype=np.float32)[: 24 * 64]
    assert f"range {covered.min():+.3g} \u2026 {covered.max():+.3g} cm" in text


def test_the_front_view_shows_the_albedo_the_right_way_up(report_page: Path) -> None:
    page = check_references(report_page)
    hero = decode_png(page.by_id["hero"]["src"]).astype(int)
    h, w = hero.shape[:2]
    top, bottom = hero[int(h * 0.3), w // 2], hero[int(h * 0.7), w // 2]
    assert top[1] > 2 * top[0] and top[1] > 120, f"green on top, got {top}"
    assert bottom[0] > 2 * bottom[1] and bottom[0] > 120, f"red below, got {bottom}"


def test_display_map_scales_16_bit_and_centres_displacement() -> None:
    normal = np.full((4, 4, 3), 65535, np.uint16)
    normal[..., 0] = 32768
    shown = display_map(normal, "normal")
    assert shown.rgb.dtype == np.uint8 and tuple(shown.rgb[0, 0]) == (128, 255, 255)
    disp = np.array([[-1.0, 0.0], [0.5, 1.0]], np.float32)
    shown = display_map(disp, "displacement", (-1.0, 1.0, 1.0), "cm")
    assert shown.rgb[0, 1, 0] in (127, 128) and shown.rgb[0, 0, 0] == 0 and shown.rgb[1, 1, 0] == 255
    assert "range -1 \u2026 +1 cm" in shown.note
    acescg_white = display_map(np.ones((2, 2, 3), np.float16), "albedo")
    assert (acescg_white.rgb >= 254).all(), "ACEScg white is sRGB white"


def test_mask_coverage_counts_covered_texels() -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[:3, :5] = 255
    assert mask_coverage(mask) == pytest.approx(0.15)
    assert mask_coverage(np.zeros((4, 4), np.uint16)) == 0.0


def test_find_maps_reads_the_texture_stages_names(tmp_path: Path) -> None:
    for name in ("my_head_lod1_object_normal.1002.png", "my_head_lod0_mask.1001.png", "my_head_lod0_albedo.1001.exr"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "readme.txt").write_text("")
    (tmp_path / ".my_head_lod0_albedo.1001.tmp.png").write_bytes(b"")
    found = [(m.name, m.lod, m.channel, m.udim) for m in find_maps(tmp_path)]
    assert found == [
        ("my_head", 0, "albedo", 1001),
        ("my_head", 0, "mask", 1001),
        ("my_head", 1, "object_normal", 1002),
    ]


def test_the_heatmap_scale_and_colours_follow_the_distances() -> None:
    assert (
        nice_ceiling(0.548) == 1.0 and nice_ceiling(1.3) == 2.0 and nice_ceiling(2.2) == 2.5 and nice_ceiling(7) == 10
    )
    scale = residual_scale({"p95_distance": 0.34}, np.zeros(3), "cm")  # 3.4 mm
    assert scale.top_mm == 5.0 and scale.p95_mm == pytest.approx(3.4)
    assert scale.ticks_mm == (0.0, 1.25, 2.5, 3.75, 5.0)
    assert residual_scale({"p95_distance": 0.0001}, np.zeros(3), "m").top_mm == MIN_SCALE_MM
    np.testing.assert_allclose(colorize(np.array([0.0, 5.0, 50.0]), 5.0)[[0, 2]], colorize(np.array([0.0, 5.0]), 5.0))
    assert colorize(np.array([np.nan]), 1.0).tolist() != colorize(np.array([0.0]), 1.0).tolist()
    # A plane facing the camera, distance growing with x: each pixel shows colorize(distance) exactly.
    plane = grid_plane(40, 1.0)
    distance_mm = plane.vertices[:, 0].astype(np.float64) * 5.0
    view = heatmap_views(plane.vertices, plane.faces, distance_mm, scale, size=100)[0].image
    lo, hi = 5, 95  # the square spans 90 % of the image
    for px in (20, 50, 80):
        x = (px + 0.5 - lo) / (hi - lo)
        expected = np.round(colorize(np.array([x * 5.0]), 5.0)[0] * 255)
        np.testing.assert_allclose(view[50, px], expected, atol=6)


def test_the_wrap_residuals_section_prints_the_reports_distances(tmp_path: Path) -> None:
    root = _write_asset(tmp_path / "wrapped", name="w")
    mesh = read_asset_mesh(root / "asset.usda")
    (root / "wrap").mkdir()
    distance = (mesh.vertices[:, 0] * 0.2).astype(np.float32)  # cm: 0 .. 2 mm
    distance[:5] = np.nan
    np.save(root / "wrap" / "w_wrapped_fit_distance.npy", distance)
    report = {
        "template": "t",
        "units": "cm",
        "mean_distance": 0.1,
        "p95_distance": 0.19,
        "max_distance": 0.2,
        "coverage": 0.97,
        "flipped_faces": 0,
        "degenerate_faces": 0,
        "confidence": "high",
        "landmark_residuals": {"nose_tip": 0.05},
    }
    (root / "wrap" / "w_wrapped_fit.json").write_text(json.dumps(report))
    page_path = root / "qa_report.html"
    page_path.write_text(build_qa_report(root, QA | {"wrap": report}, thumbnail_size=32, view_size=64))
    page = check_references(page_path)
    section = page.by_id["residuals"]
    assert float(section["data-p95-mm"]) == pytest.approx(1.9) and float(section["data-mean-mm"]) == pytest.approx(1.0)
    assert float(section["data-max-mm"]) == pytest.approx(2.0) and float(section["data-top-mm"]) == 2.0
    assert [float(t["data-mm"]) for t in page.ticks] == [0.0, 0.5, 1.0, 1.5, 2.0]
    for tick in page.ticks:
        rgb = [int(c) for c in tick["data-rgb"].split(",")]
        np.testing.assert_allclose(rgb, np.round(colorize(np.array([float(tick["data-mm"])]), 2.0)[0] * 255))
    assert "0.5 mm" in page.text and "nose_tip" in page.text
    assert sum(1 for i in page.images if i["alt"].startswith("residual heatmap")) == 3


def test_hole_views_paint_the_rim_of_each_open_hole() -> None:
    plane = grid_plane(20, 1.0)
    centre = plane.vertices[plane.faces].mean(axis=1)
    keep = np.linalg.norm(centre[:, :2] - 0.5, axis=1) > 0.2  # a round hole in the middle
    mesh = AssetMesh(plane.vertices, plane.faces[keep], None)
    views = hole_views(mesh, 3, size=80)
    assert len(views) == 2, "the outer border and the hole"
    inner = min(views, key=lambda v: v.diameter)
    assert 0.35 < inner.diameter < 0.5
    red = np.all(np.abs(inner.image.astype(int) - np.round(np.array(HOLE_COLOR) * 255)) < 40, axis=2)
    assert red.sum() > 50, "the rim is painted"
    assert hole_views(mesh, 0) == []


def test_views_without_albedo_are_grey_and_three() -> None:
    plane = _plane_with_uvs()
    views = shaded_views(AssetMesh(plane.vertices, plane.faces, None), None, size=32)
    assert [v.label for v in views] == ["front", "three-quarter", "profile"]
    centre = views[0].image[16, 16].astype(int)
    assert abs(centre[0] - centre[1]) < 8


def test_assess_flags_open_holes_and_low_confidence_wraps() -> None:
    assert assess(QA) == ("ok", [])
    status, warnings = assess(QA | {"holes_left": [{"diameter": 3.0}]})
    assert status == "review" and "1 hole(s) left open, the largest 3 cm across" in warnings
    status, warnings = assess(QA | {"holes_left": [{"diameter": 3.0}], "wrap": {"confidence": "high"}})
    assert status == "ok", "a wrapped template spans the scan's holes"
    status, warnings = assess(QA | {"wrap": {"confidence": "low", "reasons": ["12 flipped faces"]}})
    assert status == "review" and warnings == ["low confidence wrap: 12 flipped faces"]


def test_publish_writes_the_page_beside_the_json(tmp_path: Path) -> None:
    stage = _write_asset(tmp_path / "stage", name="pub", size=32)
    sink = CollectingSink()
    outputs = publish(stage, tmp_path / "out", QA, sink)
    page = tmp_path / "out" / "qa_report.html"
    assert outputs["qa_report.html"] == str(page)
    assert ("qa_report.html", "report") in [
        (Path(e.data["path"]).name, e.data["kind"]) for e in sink.of_type("artifact")
    ]
    check_references(page)
    assert not sink.of_type("warning")


def test_publish_warns_and_drops_a_stale_page_when_no_report_can_be_made(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "asset.usda").write_text("not USD")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "qa_report.html").write_text("an older asset's report")
    sink = CollectingSink()
    outputs = publish(stage, tmp_path / "out", {}, sink)
    assert "qa_report.html" not in outputs and not (tmp_path / "out" / "qa_report.html").exists()
    assert "no QA report page" in sink.of_type("warning")[0].data["message"]


def test_the_batch_index_links_each_report_with_its_thumbnail_and_status(tmp_path: Path) -> None:
    root = tmp_path / "batch"
    _write_asset(root / "good", name="good", size=32)
    (root / "good" / "qa_report.html").write_text(build_qa_report(root / "good", QA, thumbnail_size=32, view_size=64))
    (root / "broken").mkdir()
    (root / "broken" / "qa_report.html").write_text("an older run's report")
    results = [
        {"out": "good", "scan": "/scans/good.ply", "status": "ok", "message": None, "seconds": 3.5},
        {
            "out": "broken",
            "scan": "/scans/broken.ply",
            "status": "bad_input",
            "message": "broken.ply: truncated",
            "seconds": 0.4,
        },
    ]
    index = root / "index.html"
    index.write_text(build_batch_index(results, root))
    page = check_references(index)
    assert page.links == ["good/qa_report.html", "good/qa_report.html"], "thumbnail and name link the report"
    assert len(page.images) == 1 and page.images[0]["alt"] == "good"
    summary = read_report_summary(root / "good" / "qa_report.html")
    assert summary.status == "ok" and summary.hero_png is not None
    assert max(decode_png(page.images[0]["src"]).shape[:2]) <= 192
    assert "broken.ply: truncated" in page.text and "bad_input" in page.text and "ok" in page.text


def test_renders_show_on_the_page_until_the_asset_changes(tmp_path: Path) -> None:
    from lifecast.report.renders import RENDER_STEMS, asset_key

    root = _write_asset(tmp_path / "rendered", name="r", size=32)
    (root / "qa").mkdir()
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10:30] = (200, 150, 120, 255)
    for stem, _ in RENDER_STEMS:
        write_png(root / "qa" / f"{stem}.png", rgba)
    record = {"ok": True, "samples": 4, "blender": "5.0.1", "asset_key": asset_key(root)}
    (root / "qa" / "renders.json").write_text(json.dumps(record))
    page_path = root / "qa_report.html"
    page_path.write_text(build_qa_report(root, QA, thumbnail_size=32, view_size=48))
    page = check_references(page_path)
    renders = [i for i in page.images if i["alt"].startswith("render ")]
    assert [i["alt"] for i in renders] == ["render front", "render three-quarter", "render profile"]
    pixels = decode_png(renders[0]["src"])
    assert tuple(pixels[20, 20]) == (200, 150, 120) and tuple(pixels[0, 0]) == (41, 41, 43), "over the page's ground"
    assert page.by_id["status"] and "ok" in page.text
    write_png(root / "maps" / "r_lod0_mask.1001.png", np.full((32, 32), 255, np.uint8))  # the asset changed
    page_path.write_text(build_qa_report(root, QA, thumbnail_size=32, view_size=48))
    page = check_references(page_path)
    assert "review" in page.text and any("earlier version" in t for t in page.text)
