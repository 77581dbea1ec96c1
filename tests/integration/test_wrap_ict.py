"""Wrap ICT-FaceKit's generic face onto scans made from its identity shapes, scored vertex by vertex.

A scan is an identity's face and head resampled to ~110k triangles of another
topology, with 0.5 mm noise along the normals, four 10 mm holes, a random rigid
transform, and scaled from centimetres to millimetres. Landmarks are the
identity's Multi-PIE points with 2 mm RMS noise, put back onto the scan surface
(where an artist's click lands). Errors are in millimetres over ICT's face area.

Two identities run here: 002 and 004 (004's tall forehead, far from any
landmark, is the hardest of the five). Measured over identities 000-004 and two
scan/click seeds each (benchmarks/bm_wrap.py, docs/wrap.md): face-area mean
0.29-0.42 mm and p95 0.69-1.16 mm with 68 clicked landmarks; the 10-landmark
and automatic starts land in the same range (worst p95 1.23 mm). The issue's targets (mean 0.5 mm,
p95 1.5 mm) are asserted for all three starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifecast.wrap.ict import FITTED, MULTI_PIE_68, TEN, face_area_errors, ict_template, landmark_name
from lifecast.wrap.polygon_obj import read_polygon_obj
from lifecast.wrap.synthetic import SyntheticScan, clicked_landmarks, make_scan
from lifecast.wrap.template import Template
from lifecast.wrap.wrap import wrap_scan

pytestmark = pytest.mark.integration

#: The issue's targets for 68 clicked landmarks, which the 10-landmark and automatic starts meet as well.
MEAN_MM = 0.5
P95_MM = 1.5


@pytest.fixture(scope="module")
def ict(shared_scans: Path) -> Path:
    return shared_scans / "ict_facekit" / "FaceXModel"


@pytest.fixture(scope="module")
def template(ict: Path) -> Template:
    return ict_template(ict / "generic_neutral_mesh.obj")


@pytest.fixture(scope="module", params=[2, 4], ids=["identity002", "identity004"])
def scan_and_truth(request: pytest.FixtureRequest, ict: Path, template: Template) -> tuple[SyntheticScan, np.ndarray]:
    identity = read_polygon_obj(ict / f"identity{request.param:03d}.obj")
    shown = template.faces[(template.faces <= FITTED[1]).all(1)]
    syn = make_scan(identity.vertices, shown, target_faces=110_000, noise=0.05, holes=4, hole_radius=1.0, scale=10.0)
    return syn, syn.transform.apply(identity.vertices)


def _clicked(syn: SyntheticScan, truth: np.ndarray, which: tuple[int, ...]) -> dict[str, np.ndarray]:
    points = truth[np.asarray(MULTI_PIE_68)[list(which)]]
    return clicked_landmarks(points, [landmark_name(k) for k in which], syn.mesh, noise=2.0)


def _face_errors(vertices: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    err = face_area_errors(vertices, truth)
    print(f"face-area error: mean {err.mean():.3f} mm, p95 {np.percentile(err, 95):.3f} mm")
    return float(err.mean()), float(np.percentile(err, 95))


def test_68_landmarks_with_2mm_noise(template: Template, scan_and_truth: tuple[SyntheticScan, np.ndarray]) -> None:
    syn, truth = scan_and_truth
    result = wrap_scan(syn.mesh, template, scan_landmarks=_clicked(syn, truth, tuple(range(68))))
    mean, p95 = _face_errors(result.vertices, truth)
    assert mean < MEAN_MM
    assert p95 < P95_MM
    assert result.report.confidence == "high"
    assert result.report.mean_distance < 0.35  # mm, to the scan with its 0.5 mm noise
    assert 0.85 < result.report.coverage < 1.0  # the holes are seen
    assert len(result.report.landmark_residuals) == 68
    # excluded parts (eyeballs, teeth) moved with the face: rigidly, so their shape is the template's, scaled
    f = template.faces[(template.faces >= 21451).all(1) & (template.faces <= 23020).all(1)]  # left eyeball
    rest = template.vertices * result.alignment.scale
    got = result.vertices.astype(np.float64)
    np.testing.assert_allclose(
        np.linalg.norm(got[f[:, 0]] - got[f[:, 1]], axis=1),
        np.linalg.norm(rest[f[:, 0]] - rest[f[:, 1]], axis=1),
        atol=1e-3,
    )


def test_10_landmarks(template: Template, scan_and_truth: tuple[SyntheticScan, np.ndarray]) -> None:
    syn, truth = scan_and_truth
    result = wrap_scan(syn.mesh, template, scan_landmarks=_clicked(syn, truth, TEN))
    mean, p95 = _face_errors(result.vertices, truth)
    assert mean < MEAN_MM
    assert p95 < P95_MM


def test_automatic_start(template: Template, scan_and_truth: tuple[SyntheticScan, np.ndarray]) -> None:
    syn, truth = scan_and_truth
    result = wrap_scan(syn.mesh, template)
    mean, p95 = _face_errors(result.vertices, truth)
    assert mean < MEAN_MM
    assert p95 < P95_MM
    assert result.report.mean_distance < 0.35


def test_bunny_onto_a_head_is_low_confidence(shared_scans: Path, template: Template) -> None:
    from lifecast.io import read_scan

    bunny = read_scan(shared_scans / "pymeshfix_bunny_with_holes" / "StanfordBunny.ply").mesh
    result = wrap_scan(bunny, template)
    print(result.report.as_dict())
    assert result.report.confidence == "low"
