"""Hole masks shaped like the real coverage gaps of a photogrammetry capture, to test and train inpainting.

A capture rig is simulated around the mesh: a ring of cameras at eye height around the head's vertical axis, a
ring above it looking down, none below (the floor, the subject's own shoulders). A texel counts as seen by a camera
when it faces it (less oblique than :attr:`CaptureRig.max_angle_deg`: a grazing view gives photogrammetry no usable
texture) and the ray from the texel's surface point to the camera hits nothing
(:meth:`lifecast.bake.correspond.RayEngine.occluded`). Texels fewer than :attr:`CaptureRig.min_views` cameras see
are holes: under the chin and the jaw, behind and inside the ears, in the nostrils, the base of a bust. A hair cap
(the crown hidden by hair, whose texture a scan never gets right) can be added on top.

Everything random (the rig's rotation and jitter, the cap's ragged edge) comes from one seed: the same mesh, tiles
and seed give the same masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.bake.cage import bounding_diagonal
from lifecast.bake.correspond import RayEngine, make_ray_engine
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.ml.geometry_maps import GeometryTile

#: Texels per occlusion-test batch (bounds the rays held at once: batch x cameras).
_CHUNK = 1 << 16


@dataclass(frozen=True)
class CaptureRig:
    """A photogrammetry rig around a head, in units of the mesh's bounding box.

    Attributes
    ----------
    ring
        Cameras on the ring at eye height.
    above
        Cameras on a second ring above the head, looking down.
    above_elevation_deg
        Elevation of that ring, seen from the head's centre.
    distance
        Camera distance from the vertical axis, in horizontal bounding radii of the mesh.
    eye_height
        Height of the lower ring (and of the head's centre the upper ring is measured from), as a fraction of the
        mesh's extent along ``up`` from its lowest point.
    max_angle_deg
        A camera sees a texel only if the angle between the texel's normal and the direction to the camera is below
        this.
    min_views
        Texels fewer cameras see are holes.
    jitter
        Random offset of each camera (fraction of ``distance``) and of the rings' rotation.
    """

    ring: int = 16
    above: int = 4
    above_elevation_deg: float = 45.0
    distance: float = 3.0
    eye_height: float = 0.75
    max_angle_deg: float = 75.0
    min_views: int = 2
    jitter: float = 0.05


def rig_cameras(
    vertices: NDArray[np.floating],
    up: NDArray[np.floating],
    front: NDArray[np.floating],
    rig: CaptureRig,
    rng: np.random.Generator,
) -> NDArray[np.float32]:
    """``(ring + above, 3) float32`` camera positions of ``rig`` around ``vertices (n, 3)``.

    ``up`` and ``front`` are directions (``front`` is made perpendicular to ``up``); the first camera of the ring
    is in front of the face, rotated by a random fraction of the spacing times ``rig.jitter``. Every camera is
    outside the vertices' bounding box (:class:`InputError` otherwise), which :func:`view_counts` relies on.
    """
    v = np.asarray(vertices, np.float64)
    u = _unit(np.asarray(up, np.float64))
    f = np.asarray(front, np.float64) - np.dot(front, u) * u
    if np.linalg.norm(f) < 1e-9:
        raise InputError("the front direction of the capture rig must not be parallel to up")
    f = _unit(f)
    side = np.cross(u, f)
    height = v @ u
    low, high = float(height.min()), float(height.max())
    flat = v - np.outer(height, u)
    centre_flat = 0.5 * (flat.min(axis=0) + flat.max(axis=0))
    radius = 0.5 * float(max(np.ptp(flat @ f), np.ptp(flat @ side)))
    eye = low + rig.eye_height * (high - low)
    centre = centre_flat + eye * u
    reach = rig.distance * radius
    cams: list[NDArray[np.float64]] = []
    for count, elevation in ((rig.ring, 0.0), (rig.above, np.radians(rig.above_elevation_deg))):
        if count <= 0:
            continue
        turn = rng.uniform(-0.5, 0.5) * rig.jitter * 2 * np.pi / count
        for k in range(count):
            azimuth = 2 * np.pi * k / count + turn
            direction = np.cos(elevation) * (np.cos(azimuth) * f + np.sin(azimuth) * side) + np.sin(elevation) * u
            cams.append(centre + reach * direction + rng.normal(0.0, rig.jitter * reach, 3))
    out = np.asarray(cams, np.float32).reshape(-1, 3)
    inside = np.all((out >= v.min(axis=0)) & (out <= v.max(axis=0)), axis=1)
    if inside.any():
        raise InputError(f"capture rig distance {rig.distance} puts cameras inside the mesh's bounding box")
    return out


def view_counts(
    engine: RayEngine,
    points: NDArray[np.float32],
    normals: NDArray[np.float32],
    cameras: NDArray[np.float32],
    *,
    max_angle_deg: float,
    offset: float,
) -> NDArray[np.int32]:
    """``(q,) int32``: how many ``cameras (k, 3)`` see each surface point ``points (q, 3)`` with unit ``normals``.

    A camera sees a point when the angle between its normal and the direction to the camera is below
    ``max_angle_deg`` and the segment from ``point + offset * normal`` to the camera hits nothing.
    """
    cos_max = np.float32(np.cos(np.radians(max_angle_deg)))
    counts = np.zeros(len(points), np.int32)
    for start in range(0, len(points), _CHUNK):
        p = points[start : start + _CHUNK]
        n = normals[start : start + _CHUNK]
        origin = (p + n * np.float32(offset)).astype(np.float32)
        for cam in cameras:
            d = cam[None, :] - origin
            dist = np.linalg.norm(d, axis=1)
            d /= np.maximum(dist, 1e-12)[:, None]
            facing = np.einsum("qc,qc->q", d, n) > cos_max
            if not facing.any():
                continue
            idx = np.flatnonzero(facing)
            # The cameras are outside the mesh's bounding box, so no surface lies on a ray beyond its camera and one
            # reach for the batch tests each segment exactly.
            blocked = engine.occluded(origin[idx], np.ascontiguousarray(d[idx]), float(dist.max()))
            counts[start + idx[~blocked]] += 1
    return counts


def coverage_holes(
    mesh: TriMesh,
    geometry: Sequence[GeometryTile],
    *,
    up: Sequence[float] = (0.0, 1.0, 0.0),
    front: Sequence[float] = (0.0, 0.0, 1.0),
    rig: CaptureRig | None = None,
    seed: int = 0,
    hair_cap: float = 0.0,
    grow: int = 0,
) -> list[NDArray[np.bool_]]:
    """Hole masks where a simulated capture rig would not have seen the surface, one per tile.

    Parameters
    ----------
    mesh
        The mesh the tiles were computed from (its triangles occlude the views).
    geometry
        Its :class:`GeometryTile` per UDIM tile (``position``, ``normal``, ``covered``).
    up, front
        The head's up axis and the direction its face looks (lifecast's convention and the Lee Perry-Smith scan:
        Y up, facing +Z). Only the ring's axis and its first camera depend on them.
    rig
        The rig; default :class:`CaptureRig`.
    seed
        Seeds the rig's jitter and the hair cap's edge.
    hair_cap
        Also mark the top of the head: texels within this fraction of the mesh's height from its top, the edge
        made ragged by a smooth random function of the direction around the axis (0: none).
    grow
        Dilate (> 0) or erode (< 0) each tile's mask by this many texels (within the covered texels).

    Returns
    -------
    list of ``(s, s) bool``
        Per tile, True on covered texels fewer than ``rig.min_views`` cameras see (or under the cap).
    """
    rig = rig or CaptureRig()
    rng = np.random.default_rng(seed)
    vertices = np.asarray(mesh.vertices, np.float32)
    if len(mesh.faces) == 0:
        raise InputError("coverage holes need a mesh with faces")
    cameras = rig_cameras(vertices, np.asarray(up, np.float64), np.asarray(front, np.float64), rig, rng)
    engine = make_ray_engine(vertices, np.asarray(mesh.faces, np.int64))
    offset = 1e-4 * bounding_diagonal(vertices)
    u = _unit(np.asarray(up, np.float64)).astype(np.float32)
    heights = vertices @ u
    low, high = float(heights.min()), float(heights.max())
    centre = 0.5 * (vertices.min(axis=0) + vertices.max(axis=0))
    phases = rng.uniform(0, 2 * np.pi, 4)
    out: list[NDArray[np.bool_]] = []
    for tile in geometry:
        cov = tile.covered
        points = tile.position[cov]
        normals = tile.normal[cov]
        seen = view_counts(engine, points, normals, cameras, max_angle_deg=rig.max_angle_deg, offset=offset)
        hole = seen < rig.min_views
        if hair_cap > 0:
            hole |= _under_cap(points, u, centre, low, high, hair_cap, phases)
        mask = np.zeros(cov.shape, bool)
        mask[cov] = hole
        if grow:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1, 2 * abs(grow) + 1))
            op = cv2.dilate if grow > 0 else cv2.erode
            mask = (op(mask.astype(np.uint8), kernel) > 0) & cov
        out.append(mask)
    return out


def _under_cap(
    points: NDArray[np.float32],
    up: NDArray[np.float32],
    centre: NDArray[np.float32],
    low: float,
    high: float,
    cap: float,
    phases: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """``(q,) bool``: points above the cap's ragged lower edge (azimuth-dependent, within +-30 % of ``cap``)."""
    rel = points - centre
    h = rel @ up
    flat = rel - np.outer(h, up)
    # Azimuth in any frame perpendicular to up: only its smooth variation matters.
    a = _unit(np.cross(up, np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 0.0, 1.0])))
    b = np.cross(up, a)
    azimuth = np.arctan2(flat @ b, flat @ a)
    wobble = 0.2 * np.sin(azimuth + phases[0]) + 0.1 * np.sin(2 * azimuth + phases[1])
    wobble += 0.05 * np.sin(3 * azimuth + phases[2]) + 0.05 * np.sin(5 * azimuth + phases[3])
    edge = high - cap * (high - low) * (1.0 + wobble)
    return np.asarray(points @ up >= edge, bool)


def _unit(v: NDArray[np.floating]) -> NDArray[np.float64]:
    u = np.asarray(v, np.float64)
    return np.asarray(u / max(float(np.linalg.norm(u)), 1e-12), np.float64)


__all__ = ["CaptureRig", "coverage_holes", "rig_cameras", "view_counts"]
