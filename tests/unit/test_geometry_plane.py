"""Ground-plane removal: takes a turntable disc, never a head."""

from __future__ import annotations

import numpy as np

from lifecast.geometry import clean_mesh, find_ground_plane
from lifecast.mesh import TriMesh
from tests.conftest import grid_plane, icosphere


def _disc_under(sphere: TriMesh, n: int = 30, half: float = 3.0, gap: float = 0.0) -> tuple[TriMesh, int]:
    """A square turntable plate in z = min(z) - gap, under ``sphere``; returns the mesh and plate face count."""
    plate = grid_plane(n, size=2 * half)
    pv = plate.vertices - np.array([half, half, 0], np.float32)
    pv[:, 2] = sphere.vertices[:, 2].min() - gap
    verts = np.concatenate([sphere.vertices, pv])
    faces = np.concatenate([sphere.faces, plate.faces + len(sphere.vertices)]).astype(np.int32)
    return TriMesh(verts, faces), len(plate.faces)


def test_sphere_alone_has_no_ground_plane() -> None:
    assert find_ground_plane(icosphere(4).vertices, icosphere(4).faces) is None


def test_flat_bottomed_head_is_not_cut() -> None:
    # A sphere sliced flat at the bottom (like a capped neck): the flat cap is small and kept.
    s = icosphere(4)
    v = s.vertices.copy()
    v[:, 2] = np.maximum(v[:, 2], -0.8)
    assert find_ground_plane(v, s.faces) is None


def test_turntable_plate_is_found_and_removed() -> None:
    head, plate_faces = _disc_under(icosphere(3), gap=0.05)
    plane = find_ground_plane(head.vertices, head.faces)
    assert plane is not None
    np.testing.assert_allclose(np.abs(plane.normal), [0, 0, 1], atol=1e-6)
    assert plane.normal[2] > 0  # points at the subject
    assert len(plane.faces) == plate_faces
    assert plane.faces.min() >= len(icosphere(3).faces)

    cleaned, report = clean_mesh(head, units="m", remove_ground_plane=True)
    assert report["ground_plane"]["found"] and report["ground_plane"]["faces_removed"] == plate_faces
    assert len(cleaned.faces) == len(icosphere(3).faces)
    assert report["after"]["watertight"]


def test_plate_touching_the_head_does_not_eat_it() -> None:
    # The sphere sits on the plate (shares its lowest point's height): only flat faces go.
    sphere = icosphere(3)
    head, plate_faces = _disc_under(sphere, gap=0.0)
    cleaned, report = clean_mesh(head, units="m", remove_ground_plane=True, min_component_fraction=0.0)
    assert report["ground_plane"]["faces_removed"] == plate_faces
    assert len(cleaned.faces) == len(sphere.faces)


def test_ground_plane_off_by_default() -> None:
    head, _ = _disc_under(icosphere(3), gap=0.05)
    _, report = clean_mesh(head, units="m", min_component_fraction=0.0)
    assert report["ground_plane"] is None
    assert report["after"]["faces"] == len(head.faces)
