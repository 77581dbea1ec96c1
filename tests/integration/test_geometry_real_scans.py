"""clean_mesh and build_lods on real scans from ../shared/scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifecast.geometry import build_lods, clean_mesh, qa_report
from lifecast.geometry.topology import edge_table
from lifecast.mesh import TriMesh

pytestmark = pytest.mark.integration


def _load(path: Path) -> TriMesh:
    import trimesh

    m = trimesh.load(path, process=False, force="mesh")
    return TriMesh(np.asarray(m.vertices, np.float32), np.asarray(m.faces, np.int32))


@pytest.fixture(scope="module")
def bunny(shared_scans: Path) -> TriMesh:
    return _load(shared_scans / "pymeshfix_bunny_with_holes" / "StanfordBunny.ply")


@pytest.fixture(scope="module")
def bust(shared_scans: Path) -> TriMesh:
    return _load(shared_scans / "demosthenes_bust" / "demosthenes_demosthenes-low-res.obj")


def test_bunny_report_matches_its_documented_boundary(bunny: TriMesh) -> None:
    r = qa_report(bunny, "mm")
    assert (r["vertices"], r["faces"], r["boundary_edges"]) == (50_000, 99_785, 353)
    assert r["holes"]["count"] > 10
    assert not r["watertight"]


def test_bunny_small_holes_filled_bottom_opening_reported(bunny: TriMesh) -> None:
    # The bunny's coordinates are ~50 units across; read as mm, its bottom opening is ~14 mm wide.
    # With a 10 mm limit the bottom opening is left open and reported; everything small is filled.
    _, report = clean_mesh(bunny, units="mm", fill_holes_max_diameter=10.0)
    before = report["before"]["holes"]["list"]
    assert before[0]["diameter"] == pytest.approx(14.26, abs=0.05)
    # The 132 non-manifold edges are fins (single faces sticking out); removing them leaves the
    # scan's five real holes: the bottom opening and four smaller ones, which are filled.
    assert report["steps"][-3]["faces_removed"] == 66
    assert [h["edges"] for h in report["holes_filled"]] == [58, 58, 55, 26]
    assert all(h["diameter"] <= 10.0 for h in report["holes_filled"])
    assert len(report["holes_left"]) == 1
    assert report["holes_left"][0]["diameter"] == pytest.approx(before[0]["diameter"], rel=1e-6)
    after = report["after"]
    assert after["non_manifold_edges"] == 0
    assert after["boundary_edges"] == report["holes_left"][0]["edges"] == 90
    # At the default 15 mm limit the bottom opening is filled too.
    _, default = clean_mesh(bunny, units="mm")
    assert default["holes_left"] == [] and default["after"]["watertight"]


def test_bust_keeps_its_large_open_boundary(bust: TriMesh) -> None:
    before = qa_report(bust, "m")
    cleaned, report = clean_mesh(bust, units="m")
    biggest = before["holes"]["list"][0]
    assert biggest["diameter"] > 0.5  # the cut under the bust, in a ~2.7-unit-tall model
    assert any(h["diameter"] == pytest.approx(biggest["diameter"]) for h in report["holes_left"])
    assert report["after"]["faces"] >= 0.99 * before["faces"]
    (lod,) = build_lods(cleaned, (4_000,))
    table = edge_table(lod.faces)
    assert abs(len(lod.faces) - 4_000) <= 40, len(lod.faces)  # measured 3,999: the LOD gets the count asked for
    assert int((table.counts == 1).sum()) == report["after"]["boundary_edges"]
