"""The bundled sample scan (sample_scans/anny_head) is present, small, readable and as damaged as its JSON says.

These tests read the committed files only; they never need anny.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

MAX_BYTES = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def record(sample_scan: Path) -> dict[str, Any]:
    path = sample_scan.with_suffix(".json")
    assert path.is_file(), f"missing {path}"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture(scope="module")
def mesh(sample_scan: Path) -> trimesh.Trimesh:
    loaded = trimesh.load(sample_scan, process=False)
    assert isinstance(loaded, trimesh.Trimesh)
    return loaded


@pytest.fixture(scope="module")
def merged(mesh: trimesh.Trimesh) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Vertices with bit-identical positions merged (what a scan cleaner does first)."""
    vertices = np.asarray(mesh.vertices, np.float32)
    unique, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)[np.asarray(mesh.faces, np.int64)]


def _component_labels(n_vertices: int, faces: NDArray[np.int64]) -> NDArray[np.int32]:
    rows = faces[:, [0, 1, 2]].ravel()
    cols = faces[:, [1, 2, 0]].ravel()
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_vertices, n_vertices))
    return np.asarray(connected_components(graph, directed=False)[1], np.int32)


def _component_count(n_vertices: int, faces: NDArray[np.int64]) -> int:
    labels = _component_labels(n_vertices, faces)
    return len(np.unique(labels[np.unique(faces)]))


def _header(path: Path) -> list[str]:
    head = path.read_bytes()[:4096]
    end = head.index(b"end_header")
    return head[:end].decode("ascii").splitlines()


def test_files_exist_and_fit_the_size_budget(sample_scan: Path, record: dict[str, Any]) -> None:
    folder = sample_scan.parent
    assert sample_scan.stat().st_size < MAX_BYTES
    assert sample_scan.stat().st_size == record["scan"]["bytes"]
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert total < MAX_BYTES, f"sample_scans/{folder.name} is {total / 1e6:.1f} MB"
    assert (folder / "README.md").is_file()
    assert (folder / record["truth"]["file"]).is_file()


def test_header_is_binary_with_units_up_and_colours(sample_scan: Path) -> None:
    lines = _header(sample_scan)
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
    assert "comment units mm" in lines
    assert "comment up z" in lines
    for prop in ("float x", "float y", "float z", "uchar red", "uchar green", "uchar blue"):
        assert f"property {prop}" in lines
    assert "property list uchar int vertex_indices" in lines


def test_parses_with_the_recorded_counts_and_colours(mesh: trimesh.Trimesh, record: dict[str, Any]) -> None:
    assert len(mesh.vertices) == record["scan"]["vertices"]
    assert len(mesh.faces) == record["scan"]["faces"]
    visual = mesh.visual
    assert isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind == "vertex"
    rgb = np.asarray(visual.vertex_colors)[:, :3].astype(np.float64)
    assert rgb.shape == (len(mesh.vertices), 3)
    assert rgb.std(axis=0).min() > 5.0, "vertex colours are (nearly) constant"
    # Skin: red above green above blue on average.
    mean = rgb.mean(axis=0)
    assert mean[0] > mean[1] > mean[2]


def test_is_a_head_in_millimetres_with_z_up(mesh: trimesh.Trimesh) -> None:
    extent = np.ptp(np.asarray(mesh.vertices), axis=0)
    # The turntable (300 mm across) sets x and y; the head and neck set z.
    assert 200.0 < extent[0] < 400.0
    assert 200.0 < extent[1] < 400.0
    assert 200.0 < extent[2] < 450.0


def test_component_count_matches_the_record(
    mesh: trimesh.Trimesh, merged: tuple[NDArray[np.float32], NDArray[np.int64]], record: dict[str, Any]
) -> None:
    components = record["scan"]["components"]
    assert components["total"] == components["head"] + components["floaters"] + components["turntable"]
    assert components["floaters"] == record["defects"]["floaters"]["count"] > 0
    vertices, faces = merged
    assert _component_count(len(vertices), faces) == components["total"]
    # The chunk seam's duplicated vertices split the head until they are merged.
    assert len(vertices) == record["scan"]["vertices_after_merging_coincident"] < len(mesh.vertices)
    stored = _component_count(len(mesh.vertices), np.asarray(mesh.faces, np.int64))
    assert stored == record["scan"]["components_as_stored"] > components["total"]


def test_head_has_the_recorded_holes(
    merged: tuple[NDArray[np.float32], NDArray[np.int64]], record: dict[str, Any]
) -> None:
    vertices, faces = merged
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])]
    labels = _component_labels(len(vertices), faces)
    sizes = np.bincount(labels[faces[:, 0]])
    head = faces[labels[faces[:, 0]] == sizes.argmax()]
    edges = np.sort(head[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    keys, counts = np.unique(edges[:, 0] * len(vertices) + edges[:, 1], return_counts=True)
    boundary = np.column_stack(np.divmod(keys[counts == 1], len(vertices)))
    assert len(boundary) > 0
    loops = _component_count(len(vertices), np.column_stack([boundary, boundary[:, :1]]))
    holes = record["defects"]["holes"]
    assert any(h["fillable"] for h in holes) and any(not h["fillable"] for h in holes)
    # Each hole plus the open neck is a loop; each collinear face (a, b, m) adds the open path b-m-a.
    assert record["defects"]["head_boundary_loops"] == len(holes) + 1
    assert loops == len(holes) + 1 + record["defects"]["degenerate_faces"]["collinear"]


def test_turntable_is_a_near_horizontal_disc(
    merged: tuple[NDArray[np.float32], NDArray[np.int64]], record: dict[str, Any]
) -> None:
    vertices, faces = merged
    labels = _component_labels(len(vertices), faces)
    lowest = labels[np.argmin(vertices[:, 2])]
    disc = vertices[np.unique(faces[labels[faces[:, 0]] == lowest])].astype(np.float64)
    _, _, vt = np.linalg.svd(disc - disc.mean(axis=0), full_matrices=False)
    normal = vt[2] * np.sign(vt[2, 2])
    assert normal[2] > 0.99
    assert np.dot(normal, record["defects"]["turntable"]["normal"]) > 0.999
    assert np.ptp(disc[:, 0]) == pytest.approx(2 * record["defects"]["turntable"]["radius_mm"], rel=0.02)


def test_degenerate_faces_are_present(mesh: trimesh.Trimesh, record: dict[str, Any]) -> None:
    faces = np.asarray(mesh.faces)
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 2] == faces[:, 0])
    degenerate = record["defects"]["degenerate_faces"]
    assert repeated.sum() == degenerate["repeated_index"]
    tri = np.asarray(mesh.vertices, np.float64)[faces[~repeated]]
    areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    assert (areas < 1e-4).sum() >= degenerate["collinear"]
