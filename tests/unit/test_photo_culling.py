"""The shortcuts of the projection's per-photo work, each against the per-texel test it stands in for: face
culling by bounding spheres (never drops a texel :func:`frame` keeps), faces seen whole or not at all (agree with
one ray per texel), the float32 lens model (agrees with the float64 reference) and JPEG's reduced decoding for
the exposure pass."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from lifecast.bake.correspond import make_ray_engine
from lifecast.io.cameras.distortion import distort_points
from lifecast.io.cameras.model import Distortion
from lifecast.photo.photos import load_photo
from lifecast.photo.synthetic import look_at, prepared_mesh
from lifecast.photo.texels import texel_set
from lifecast.photo.visibility import (
    CameraView,
    Contours,
    FaceBounds,
    VisibilitySettings,
    distort32,
    field_radius,
    frame,
    unblocked,
)
from lifecast.uv.udim import face_udims
from tests.conftest import REPO

HEAD = REPO / "sample_scans" / "anny_head" / "anny_head_truth.ply"


@pytest.fixture(scope="module")
def head() -> tuple[Any, Any, FaceBounds]:
    mesh = prepared_mesh(HEAD, faces=3000, texture_size=256)
    assert mesh.uvs is not None and mesh.face_uvs is not None
    texels = texel_set(mesh, [1001], face_udims(mesh.uvs, mesh.face_uvs), 256)
    bounds = FaceBounds.of(mesh.vertices, mesh.faces, texels.face_normal, texels.face, texels.point)
    return mesh, texels, bounds


def _cameras(mesh: Any, count: int, lens: Distortion, *, far: float = 2.5, offset: float = 0.0) -> list[Any]:
    """Cameras round the mesh (some off-centre, some close enough to frame only part of it)."""
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    centre, size = 0.5 * (lo + hi), float(np.linalg.norm(hi - lo))
    rng = np.random.default_rng(3)
    out = []
    for k in range(count):
        a, h = 2 * np.pi * k / count, rng.uniform(-0.6, 0.6)
        eye = centre + size * rng.uniform(0.6, far) * np.array([np.cos(a), np.sin(a), h])
        target = centre + size * offset * rng.uniform(-0.5, 0.5, 3)
        out.append(look_at(f"c{k}.jpg", eye, target, np.array([0.0, 0.0, 1.0]), 320, 240, 300.0, lens))
    return out


@pytest.mark.parametrize(
    "lens",
    [Distortion("none", ()), Distortion("opencv", (-0.2, 0.05, 0.001, -0.001, 0.0, 0.0, 0.0, 0.0))],
    ids=["pinhole", "opencv"],
)
def test_face_culling_keeps_every_texel_frame_keeps(head: Any, lens: Distortion) -> None:
    mesh, texels, bounds = head
    culled_some = False
    for cam in _cameras(mesh, 12, lens, offset=0.8):
        radius = field_radius(cam)
        framed = frame(cam, texels.point, texels.face_normal[texels.face], 0.1, radius)
        faces = bounds.candidates(cam, 0.1, radius)
        kept = faces[texels.face]
        assert kept[framed.index].all()  # conservative: nothing frame keeps is culled
        culled_some |= bool((~kept).sum() > 0.3 * len(kept))
    assert culled_some  # and it does cull (back faces at least)


def test_faces_seen_whole_or_not_at_all_agree_with_a_ray_per_texel(head: Any) -> None:
    mesh, texels, bounds = head
    engine = make_ray_engine(mesh.vertices, mesh.faces)
    diagonal = float(np.linalg.norm(mesh.vertices.max(axis=0) - mesh.vertices.min(axis=0)))
    vis = VisibilitySettings(depth_tolerance=1e-3 * diagonal)
    contours = Contours.of(mesh.vertices, mesh.faces)
    whole_total = hidden_total = checked = 0
    for cam in _cameras(mesh, 8, Distortion("none", ())):
        view = CameraView(cam, engine, vis)
        faces = bounds.candidates(cam, 0.1, None)
        whole, hidden = view.seen_faces(bounds, faces, contours)
        assert not (whole & hidden).any() and not (whole & ~faces).any() and not (hidden & ~faces).any()
        framed = frame(cam, texels.point, texels.face_normal[texels.face], 0.1, None)
        seen = unblocked(engine, cam.center, framed.to_cam, framed.dist, vis.depth_tolerance)
        face = texels.face[framed.index]
        assert seen[whole[face]].all()
        assert not seen[hidden[face]].any()
        whole_total += int(whole[face].sum())
        hidden_total += int(hidden[face].sum())
        checked += len(face)
        # look() with the shortcut sees exactly what it sees without
        points, normals = texels.point, texels.normal
        fn = texels.face_normal[texels.face]
        a = view.look(points, normals, fn)
        b = view.look(points, normals, fn, whole[texels.face])
        assert np.array_equal(a.index, b.index)
    assert whole_total > 0.05 * checked and hidden_total > 0  # the shortcut is taken (measured 10 %)


@pytest.mark.parametrize(
    "lens",
    [
        Distortion("radial", (-0.1, 0.02, -0.003)),
        Distortion("opencv", (-0.2, 0.05, 0.001, -0.002, 0.01, 0.02, -0.01, 0.003)),
        Distortion("opencv_fisheye", (0.05, -0.01, 0.002, -0.001)),
        Distortion("none", ()),
    ],
)
def test_float32_lens_model_matches_the_reference(lens: Distortion) -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.8, 0.8, (1000, 2)).astype(np.float32)
    u, v = distort32(lens, xy[:, 0], xy[:, 1])
    reference = distort_points(lens.model, lens.coeffs, xy.astype(np.float64))
    assert u.dtype == np.float32 and v.dtype == np.float32
    np.testing.assert_allclose(np.stack([u, v], axis=1), reference, atol=2e-6)


def test_jpeg_is_decoded_reduced_and_other_formats_in_full(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    smooth = cv2.resize(rng.integers(0, 256, (6, 8, 3)).astype(np.uint8), (123, 90), interpolation=cv2.INTER_LINEAR)
    cam = look_at("a.jpg", np.array([0.0, 0.0, -5.0]), np.zeros(3), np.array([0.0, -1.0, 0.0]), 123, 90, 100.0,
                  Distortion("none", ()))  # fmt: skip
    cv2.imwrite(str(tmp_path / "a.jpg"), smooth[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 98])
    cv2.imwrite(str(tmp_path / "b.png"), smooth[:, :, ::-1])
    full = load_photo(tmp_path, cam)
    half = load_photo(tmp_path, cam, reduce=2)
    assert full.reduction == 1 and full.image.shape == (90, 123, 3)
    assert half.reduction == 2 and half.image.shape == (45, 62, 3)  # odd sizes round up, as libjpeg's
    assert (half.camera.width, half.camera.height, half.camera.fx) == (123, 90, 100.0)  # the photo's camera
    area = cv2.resize(full.image[:, :122].astype(np.float32), (61, 45), interpolation=cv2.INTER_AREA)
    assert np.abs(half.image[:, :61].astype(np.float32) - area).mean() < 3.0  # RGB order, the block means
    assert np.abs(half.image[:, :61, ::-1].astype(np.float32) - area).mean() > 10.0  # (BGR would be far)
    png = load_photo(tmp_path, replace(cam, name="b.png"), reduce=2)
    assert png.reduction == 1 and png.image.shape == (90, 123, 3)
