"""Which surface points a camera sees, where they land in its photo, and how far they are from an edge.

Three tests, in order of cost:

1. facing and framing: the face turns towards the camera (its normal makes less than
   ``acos(min_cos)`` with the direction to the camera), the point is in front of it and projects inside the
   photo (through the lens distortion, within the calibrated field);
2. depth: one ray from the camera centre towards the point; the point is seen when the first surface
   the ray hits lies no nearer than the point less ``depth_tolerance`` (a z-buffer test with a
   tolerance, exact at any photo resolution), or when it hits nothing (traced as an occlusion query on
   the segment up to the point less the tolerance). The rays are traced against the
   mesh being textured or, for a wrapped template whose surface differs a little from the scan, against
   the scan (the ``occluder``);
3. edges: the camera's depth map is rendered on a coarse grid (one ray per cell, see
   :class:`CameraView`); cells where the depth jumps (silhouettes, occlusion boundaries), where the mask
   is black and the photo's border are *edges*, and each point gets its distance to the nearest edge in
   photo pixels. Points near an edge are where a small calibration error puts the wrong surface (or the
   background) under them, so their weight fades in over ``feather_px`` (:mod:`lifecast.photo.weights`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.bake.correspond import RayEngine
from lifecast.io.cameras.model import Camera, Distortion
from lifecast.photo.sampling import bilinear


@dataclass(frozen=True)
class VisibilitySettings:
    """How strictly a camera must see a point.

    Attributes
    ----------
    min_cos
        Smallest cosine between a face's normal and the direction to the camera (0.1: 84 degrees).
    depth_tolerance
        How far in front of a point (mesh units, along the ray) another surface may lie and still not
        hide it.
    grid
        Long side, in cells, of the depth grid each camera's edges are found on.
    depth_jump
        A depth step between neighbouring grid cells larger than this many times the depth one cell
        spans at that distance (``depth * step / focal``) is an edge (20: a surface tilted 87 degrees
        from the camera still reads as continuous).
    feather
        Width of the fade near edges, as a fraction of the photo's long side (at least 1.5 grid cells).
    """

    min_cos: float = 0.1
    depth_tolerance: float = 1e-3
    grid: int = 384
    depth_jump: float = 20.0
    feather: float = 0.01


@dataclass(frozen=True)
class ViewSamples:
    """The points a camera sees, of those asked about.

    Attributes
    ----------
    index
        ``(k,) int64`` positions of the seen points in the arrays given to :meth:`CameraView.look`.
    xy
        ``(k, 2) float32`` their (distorted) pixel positions.
    depth
        ``(k,) float32`` their depth along the camera's axis.
    cos
        ``(k,) float32`` cosine between the smooth normal and the direction to the camera.
    edge_px
        ``(k,) float32`` distance to the nearest edge in photo pixels.
    """

    index: NDArray[np.int64]
    xy: NDArray[np.float32]
    depth: NDArray[np.float32]
    cos: NDArray[np.float32]
    edge_px: NDArray[np.float32]


class CameraView:
    """One camera's view of the surface: its edge-distance map and the visibility tests.

    Parameters
    ----------
    camera
        The calibrated camera (its ``width`` x ``height`` is the photo's size).
    engine
        Ray engine over the occluding surface.
    settings
        Thresholds.
    mask
        ``(height, width) bool`` usable pixels, or ``None`` (the whole photo).
    """

    def __init__(
        self,
        camera: Camera,
        engine: RayEngine,
        settings: VisibilitySettings,
        mask: NDArray[np.bool_] | None = None,
    ) -> None:
        self.camera = camera
        self.engine = engine
        self.settings = settings
        self.mask = mask
        self.center = np.asarray(camera.center, np.float64)
        self.step = max(1, -(-max(camera.width, camera.height) // int(settings.grid)))
        self.feather_px = max(settings.feather * max(camera.width, camera.height), 1.5 * self.step)
        self._field_radius = field_radius(camera)
        self.edge_map = self._edge_distance()

    def _edge_distance(self) -> NDArray[np.float32]:
        """``(gh, gw) float32`` distance from each grid cell to the nearest edge, in photo pixels."""
        cam, step = self.camera, self.step
        gw, gh = -(-cam.width // step), -(-cam.height // step)
        directions = rotate(grid_directions(cam, step), cam.rotation.T)  # camera frame -> world
        ok = np.isfinite(directions).all(axis=1)
        t = np.full(len(directions), np.inf, np.float32)
        if ok.any():
            origins = np.broadcast_to(np.asarray(cam.center, np.float32), (int(ok.sum()), 3))
            hits = self.engine.cast(
                np.ascontiguousarray(origins), np.ascontiguousarray(directions[ok]), float(np.finfo(np.float32).max)
            )
            t[ok] = hits.t
        depth = t.reshape(gh, gw)
        hit = np.isfinite(depth)
        jump = np.float32(self.settings.depth_jump * step / (0.5 * (cam.fx + cam.fy)))
        edge = ~ok.reshape(gh, gw)
        for axis in (0, 1):
            a = depth if axis == 0 else depth.T
            h = hit if axis == 0 else hit.T
            near = np.minimum(a[1:], a[:-1])
            with np.errstate(invalid="ignore"):
                step_edge = (h[1:] != h[:-1]) | (h[1:] & h[:-1] & (np.abs(a[1:] - a[:-1]) > jump * near))
            e = edge if axis == 0 else edge.T
            e[1:] |= step_edge
            e[:-1] |= step_edge
        if self.mask is not None:
            coarse = cv2.resize(self.mask.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
            edge |= coarse < 0.999
        # The photo's border is an edge: pad with one ring of edge cells, measure, crop.
        free = np.pad(~edge, 1, constant_values=False).astype(np.uint8)
        distance = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        return np.asarray(np.maximum(distance - 0.5, 0.0) * step, np.float32)

    def look(
        self,
        points: NDArray[np.float32],
        normals: NDArray[np.float32],
        face_normals: NDArray[np.float32],
        whole: NDArray[np.bool_] | None = None,
    ) -> ViewSamples:
        """The points this camera sees, their pixel positions, viewing cosines and edge distances.

        Parameters
        ----------
        points
            ``(n, 3) float32`` surface points.
        normals
            ``(n, 3) float32`` their unit smooth normals (for the viewing cosine).
        face_normals
            ``(n, 3) float32`` unit normals of their faces (for the facing test).
        whole
            ``(n,) bool``, optional: the points on faces :meth:`seen_faces` found seen whole, which need no ray of
            their own.

        Returns
        -------
        ViewSamples
        """
        cam = self.camera
        framed = frame(cam, points, face_normals, self.settings.min_cos, self._field_radius)
        index, xy, depth, to_cam, dist = framed.index, framed.xy, framed.depth, framed.to_cam, framed.dist
        if self.mask is not None and len(index):
            col = np.minimum(xy[:, 0].astype(np.int64), cam.width - 1)
            row = np.minimum(xy[:, 1].astype(np.int64), cam.height - 1)
            usable = self.mask[row, col]
            index, xy, depth, to_cam, dist = index[usable], xy[usable], depth[usable], to_cam[usable], dist[usable]
        if len(index):
            ask = np.flatnonzero(~whole[index]) if whole is not None else slice(None)
            seen = np.ones(len(index), bool)
            seen[ask] = unblocked(self.engine, self.center, to_cam[ask], dist[ask], self.settings.depth_tolerance)
            if not seen.all():
                index, xy, depth, to_cam, dist = index[seen], xy[seen], depth[seen], to_cam[seen], dist[seen]
        cos = np.einsum("ij,ij->i", normals[index], to_cam) / np.maximum(dist, 1e-30)
        edge_px = bilinear(self.edge_map, xy[:, 0] / self.step - 0.5, xy[:, 1] / self.step - 0.5)
        return ViewSamples(index, xy, depth, np.asarray(cos, np.float32), edge_px)

    def seen_faces(
        self, bounds: FaceBounds, candidates: NDArray[np.bool_], contours: Contours | None
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """``(m,) bool`` twice: the faces (of the ``candidates``) this camera sees whole, whose points need no ray
        of their own in :meth:`look`, and those it sees none of, whose points need not be looked at.

        The outline of whatever hides part of a face from the camera is made of the occluding surface's contour
        edges (:class:`Contours`: between a face turned to the camera and one turned away, and open or
        non-manifold edges). Where no contour edge projects near a face, the face is seen whole or not at all,
        and its three corners and centre say which (all pass, or all fail, the depth test). A face qualifies
        when its corners and centre project inside the photo and the sphere round its texels
        (:class:`FaceBounds`) projects farther than two cells (of a grid three times finer than the edge map's)
        from every projected contour edge. ``contours`` ``None`` (the occluding surface is not known): no face
        qualifies. (Masks and the photo's border are still tested per point by :meth:`look`.)
        """
        out = np.zeros(len(candidates), bool)
        hidden = np.zeros(len(candidates), bool)
        faces = np.flatnonzero(candidates)
        k = len(faces)
        if k == 0 or contours is None:
            return out, hidden
        cam = self.camera
        cell = max(1, round(self.step / 3))  # a finer grid than the edge map's: narrower margins
        near = contours.distance_map(cam, cell, self._field_radius)
        if near is None:
            return out, hidden
        points = np.concatenate([bounds.corners[faces].reshape(-1, 3), bounds.centre[faces].astype(np.float32)])
        to_cam = np.asarray(cam.center, np.float32) - points
        dist = np.sqrt(np.einsum("ij,ij->i", to_cam, to_cam))
        u, v, depth, inside = project32(cam, to_cam, self._field_radius)
        uc, vc, dc = u[3 * k :], v[3 * k :], depth[3 * k :]
        r = bounds.radius[faces].astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            extent = np.float32(max(cam.fx, cam.fy)) * r / (dc - r)  # the sphere's radius in the photo, at most
            x, y = np.nan_to_num(uc) / cell - 0.5, np.nan_to_num(vc) / cell - 0.5
            clear = inside[3 * k :] & (dc > r) & (bilinear(near, x, y) > extent + np.float32(2 * cell))
        corners_in = inside[: 3 * k].reshape(k, 3).all(axis=1) & clear
        ask = np.flatnonzero(np.concatenate([np.repeat(corners_in, 3), corners_in]))
        seen = np.zeros(len(points), bool)
        seen[ask] = unblocked(self.engine, self.center, to_cam[ask], dist[ask], self.settings.depth_tolerance)
        every = seen[: 3 * k].reshape(k, 3).all(axis=1) & seen[3 * k :]
        none = ~(seen[: 3 * k].reshape(k, 3).any(axis=1) | seen[3 * k :])
        out[faces] = every & corners_in
        hidden[faces] = none & corners_in
        return out, hidden


@dataclass(frozen=True)
class Contours:
    """The edges of an occluding surface, to find its contour as each camera sees it (:meth:`distance_map`).

    Attributes
    ----------
    vertices
        ``(n, 3) float32``.
    edges
        ``(e, 2) int64`` vertex pairs, each edge once.
    sides
        ``(e, 2) int64`` the two faces of each manifold edge (unused where ``open``).
    open
        ``(e,) bool`` edges with one face or more than two: always part of the outline.
    normal
        ``(m, 3) float32`` face normals (not normalised).
    corner
        ``(m, 3) float32`` a vertex of each face.
    """

    vertices: NDArray[np.float32]
    edges: NDArray[np.int64]
    sides: NDArray[np.int64]
    open: NDArray[np.bool_]
    normal: NDArray[np.float32]
    corner: NDArray[np.float32]

    @classmethod
    def of(cls, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> Contours:
        """The edges of the mesh ``faces`` (``(m, 3)``) over ``vertices`` (``(n, 3)``)."""
        v = np.asarray(vertices, np.float32)
        f = np.asarray(faces, np.int64)
        half = np.sort(np.stack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=1).reshape(-1, 2), axis=1)
        owner = np.repeat(np.arange(len(f)), 3)
        edges, first, inverse, counts = np.unique(
            half, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        inverse = inverse.reshape(-1)
        last = np.zeros(len(edges), np.int64)
        last[inverse] = np.arange(len(half))  # the last half-edge of each edge
        sides = np.stack([owner[first], owner[last]], axis=1)
        corners = v[f]
        normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]).astype(np.float32)
        return cls(v, edges, sides, counts != 2, normal, corners[:, 0].copy())

    def distance_map(self, camera: Camera, step: int, radius: float | None) -> NDArray[np.float32] | None:
        """``(gh, gw) float32`` distance, in photo pixels, from each cell of ``camera``'s ``step``-pixel grid to
        the nearest projected contour edge; ``None`` when a contour edge cannot be projected (behind the
        camera or beyond the lens's field)."""
        to_cam = np.asarray(camera.center, np.float32) - self.corner
        facing = np.einsum("ij,ij->i", self.normal, to_cam) > 0
        outline = self.open | (facing[self.sides[:, 0]] != facing[self.sides[:, 1]])
        ends = self.edges[outline]
        used = np.unique(ends)
        u, v, depth, _ = project32(camera, np.asarray(camera.center, np.float32) - self.vertices[used], radius)
        if not ((depth > 0).all() and np.isfinite(u).all() and np.isfinite(v).all()):
            return None
        if radius is not None:  # beyond the field, the lens polynomial is meaningless
            x = (u - camera.cx) / camera.fx
            y = (v - camera.cy) / camera.fy
            if float((x * x + y * y).max(initial=0.0)) > 4.0 * radius * radius:
                return None
        at = np.searchsorted(used, ends)
        gw, gh = -(-camera.width // step), -(-camera.height // step)
        # Grid coordinates with 4 fractional bits, clipped well outside the grid (OpenCV clips the lines itself).
        scale = 16.0 / step
        pts = np.stack([u, v], axis=1) * scale - 8.0
        limit = 16.0 * (4 * max(gw, gh) + 8)
        pts = np.clip(np.round(pts), -limit, limit).astype(np.int32)
        lines = pts[at]  # (e, 2, 2)
        grid = np.ones((gh, gw), np.uint8)
        cv2.polylines(grid, list(lines), False, 0, thickness=1, lineType=cv2.LINE_8, shift=4)
        distance = cv2.distanceTransform(grid, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        return np.asarray(np.maximum(distance - 1.0, 0.0) * step, np.float32)


def unblocked(
    engine: RayEngine,
    centre: NDArray[np.floating],
    to_cam: NDArray[np.float32],
    dist: NDArray[np.float32],
    tolerance: float,
) -> NDArray[np.bool_]:
    """``(k,) bool``: the first surface on each ray from the camera ``centre`` lies no nearer than its point
    less ``tolerance`` (or the ray hits nothing: an occluder with a hole there).

    Parameters
    ----------
    engine
        Ray engine over the occluding surface.
    centre
        ``(3,)`` the camera centre.
    to_cam
        ``(k, 3)`` vectors from the points to the centre.
    dist
        ``(k,)`` their lengths.
    tolerance
        Depth tolerance, mesh units.
    """
    # An occlusion query (any hit, no closest one: about a third cheaper) along the segment from the centre to the
    # point less the tolerance: the direction scaled to that length, t in [0, 1]. A point nearer than the
    # tolerance is seen.
    out = np.ones(len(dist), bool)
    reach = np.asarray(dist, np.float32) - np.float32(tolerance)
    far = np.flatnonzero(reach > 0)
    if len(far) == 0:
        return out
    segment = np.asarray(to_cam, np.float32)[far] * (-reach[far] / np.asarray(dist, np.float32)[far])[:, None]
    origins = np.broadcast_to(np.asarray(centre, np.float32), segment.shape)
    out[far] = ~engine.occluded(np.ascontiguousarray(origins), segment, 1.0)
    return out


def rotate(vectors: NDArray[np.float32], matrix: NDArray[np.floating]) -> NDArray[np.float32]:
    """``(n, 3) float32`` rows of ``vectors`` multiplied by ``matrix`` (``vectors @ matrix.T``).

    With einsum: numpy's matmul of a tall ``(n, 3)`` float32 array by a ``(3, 3)`` one measured 8x slower
    (223 ms against 26 ms for a million rows).
    """
    return np.einsum("ij,kj->ik", vectors, np.asarray(matrix, np.float32))


def grid_directions(camera: Camera, step: int = 1) -> NDArray[np.float32]:
    """``(gh * gw, 3) float32`` unit ray directions, in the camera's frame, through the centres of the
    ``step x step`` pixel cells of its photo, row by row (NaN where the distortion cannot be inverted).

    ``rotate(directions, camera.rotation.T)`` turns them into world directions. Cached by intrinsics: the cameras of
    one sensor share them, so the lens is inverted once.
    """
    key = (camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy, camera.distortion.model,
           camera.distortion.coeffs, int(step))  # fmt: skip
    return _grid_directions(*key)


@lru_cache(maxsize=4)
def _grid_directions(
    width: int, height: int, fx: float, fy: float, cx: float, cy: float, model: str, coeffs: tuple[float, ...],
    step: int,
) -> NDArray[np.float32]:  # fmt: skip
    gw, gh = -(-width // step), -(-height // step)
    cols, rows = np.meshgrid(np.arange(gw, dtype=np.float64), np.arange(gh, dtype=np.float64))
    x = np.minimum((cols.ravel() + 0.5) * step, width - 0.5)
    y = np.minimum((rows.ravel() + 0.5) * step, height - 0.5)
    normalised = np.stack([(x - cx) / fx, (y - cy) / fy], axis=1)
    distortion = Distortion(model, coeffs)  # type: ignore[arg-type]
    if not distortion.is_identity:
        normalised = distortion.undistort(normalised)
    directions = np.concatenate([normalised, np.ones((len(normalised), 1))], axis=1)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    out = directions.astype(np.float32)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Framed:
    """The points a camera faces and frames (before any ray is traced).

    Attributes
    ----------
    index
        ``(k,) int64`` positions of those points in the arrays given.
    xy
        ``(k, 2) float32`` distorted pixel positions.
    depth
        ``(k,) float32`` depth along the camera's axis.
    to_cam
        ``(k, 3) float32`` vector from each point to the camera centre.
    dist
        ``(k,) float32`` its length.
    """

    index: NDArray[np.int64]
    xy: NDArray[np.float32]
    depth: NDArray[np.float32]
    to_cam: NDArray[np.float32]
    dist: NDArray[np.float32]


def frame(
    camera: Camera,
    points: NDArray[np.float32],
    face_normals: NDArray[np.float32],
    min_cos: float,
    radius: float | None,
) -> Framed:
    """The points whose face turns to the camera (cosine above ``min_cos``), in front of it, inside its
    calibrated field (``radius``, see :func:`field_radius`) and inside the photo.

    Parameters
    ----------
    camera
        The camera.
    points
        ``(n, 3) float32`` surface points.
    face_normals
        ``(n, 3) float32`` unit normals of their faces.
    min_cos
        Smallest cosine between face normal and the direction to the camera.
    radius
        Largest undistorted normalised radius, or ``None`` for no limit.
    """
    to_cam = np.asarray(camera.center, np.float32) - np.asarray(points, np.float32)
    dist = np.sqrt(np.einsum("ij,ij->i", to_cam, to_cam))
    keep = np.einsum("ij,ij->i", face_normals, to_cam) > np.float32(min_cos) * dist
    u, v, depth, inside = project32(camera, to_cam, radius)
    # Every test is evaluated on every point and the survivors gathered once (most points pass them all).
    index = np.flatnonzero(keep & inside)
    xy = np.empty((len(index), 2), np.float32)
    xy[:, 0] = u[index]
    xy[:, 1] = v[index]
    return Framed(index, xy, depth[index], to_cam[index], dist[index])


def project32(
    camera: Camera, to_cam: NDArray[np.float32], radius: float | None
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.bool_]]:
    """Pixel positions ``u``, ``v`` and depths (``(n,) float32`` each) of the points ``camera.center - to_cam``
    (``to_cam``: ``(n, 3) float32``), and ``(n,) bool`` which are in front of the camera, inside its field
    (``radius``, see :func:`frame`) and inside the photo (the others' positions are meaningless)."""
    # In the camera's frame: R (x - c) = -R (c - x), from the float32 offsets (as exact as the points
    # themselves), a column at a time (einsum or matmul of a tall (n, 3) array measured 3-5x slower).
    r = -np.asarray(camera.rotation, np.float32)
    a, b, c = to_cam[:, 0], to_cam[:, 1], to_cam[:, 2]
    depth = r[2, 0] * a + r[2, 1] * b + r[2, 2] * c
    keep = depth > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inverse = np.float32(1.0) / depth
        x = (r[0, 0] * a + r[0, 1] * b + r[0, 2] * c) * inverse
        y = (r[1, 0] * a + r[1, 1] * b + r[1, 2] * c) * inverse
        del inverse
        if radius is not None:
            keep &= x * x + y * y <= np.float32(radius * radius)
        u, v = distort32(camera.distortion, x, y)
        del x, y
        u *= np.float32(camera.fx)
        u += np.float32(camera.cx)
        v *= np.float32(camera.fy)
        v += np.float32(camera.cy)
        keep &= (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    return u, v, depth, keep


def distort32(
    distortion: Distortion, x: NDArray[np.float32], y: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """``distortion`` applied to undistorted normalised coordinates ``x``, ``y`` (``(n,) float32`` each), in
    float32 (0.0002 px at 4000 px, the points' own precision): the polynomial models computed here, the same
    formulas as :func:`lifecast.io.cameras.distortion.distort_points`; other models through it (float64)."""
    coeffs = [np.float32(k) for k in distortion.coeffs]
    if distortion.model == "none":
        return x.copy(), y.copy()
    if distortion.model in ("radial", "opencv"):
        r2 = x * x + y * y
        if distortion.model == "radial":
            k1, k2, k3 = coeffs
            s = np.float32(1.0) + r2 * (k1 + r2 * (k2 + r2 * k3))
            return x * s, y * s
        k1, k2, p1, p2, k3, k4, k5, k6 = coeffs
        s = (np.float32(1.0) + r2 * (k1 + r2 * (k2 + r2 * k3))) / (np.float32(1.0) + r2 * (k4 + r2 * (k5 + r2 * k6)))
        two_xy = np.float32(2.0) * x * y
        xd = x * s + p1 * two_xy + p2 * (r2 + np.float32(2.0) * x * x)
        yd = y * s + p1 * (r2 + np.float32(2.0) * y * y) + p2 * two_xy
        return xd, yd
    out = distortion.distort(np.stack([x, y], axis=1).astype(np.float64))
    return out[:, 0].astype(np.float32), out[:, 1].astype(np.float32)


def field_radius(camera: Camera) -> float | None:
    """Largest undistorted normalised radius the photo's corners reach (x1.05), or ``None`` when unknown.

    A point beyond it cannot be in the photo, but a distortion polynomial evaluated out there can fold it
    back inside; such points are refused before they are distorted.
    """
    if camera.distortion.is_identity:
        return None
    corners = np.array(
        [[0, 0], [camera.width, 0], [0, camera.height], [camera.width, camera.height],
         [camera.width / 2, 0], [camera.width / 2, camera.height], [0, camera.height / 2],
         [camera.width, camera.height / 2]], np.float64,
    )  # fmt: skip
    normalised = (corners - [camera.cx, camera.cy]) / [camera.fx, camera.fy]
    undistorted = camera.distortion.undistort(normalised)
    if not np.isfinite(undistorted).all():
        return None
    return float(np.linalg.norm(undistorted, axis=1).max() * 1.05)


@dataclass(frozen=True)
class FaceBounds:
    """A bounding sphere of each face's texel points, to cull whole faces before any per-texel work.

    Attributes
    ----------
    centre
        ``(m, 3) float64`` centre of each face's sphere (its vertices' mean).
    radius
        ``(m,) float64`` radius: the farthest of its vertices and of its texel points (conservative
        rasterization puts some texels a little outside the triangle), inflated for float32 rounding.
    normal
        ``(m, 3) float64`` the unit face normals the facing test of :func:`frame` is given.
    has_texels
        ``(m,) bool`` faces under some texel (the others are never candidates).
    corners
        ``(m, 3, 3) float32`` each face's vertices.
    """

    centre: NDArray[np.float64]
    radius: NDArray[np.float64]
    normal: NDArray[np.float64]
    has_texels: NDArray[np.bool_]
    corners: NDArray[np.float32]

    @classmethod
    def of(
        cls,
        vertices: NDArray[np.floating],
        faces: NDArray[np.integer],
        face_normal: NDArray[np.floating],
        texel_face: NDArray[np.integer],
        texel_point: NDArray[np.float32],
    ) -> FaceBounds:
        """The bounds of ``faces`` (``(m, 3)``) over ``vertices`` (``(n, 3)``), with their unit normals
        ``face_normal`` (``(m, 3)``), and the texels' points (``(q, 3)``) on their faces (``(q,)``)."""
        corners = np.asarray(vertices, np.float64)[np.asarray(faces)]
        centre = corners.mean(axis=1)
        radius = np.sqrt(((corners - centre[:, None]) ** 2).sum(axis=2).max(axis=1))
        face = np.asarray(texel_face, np.int64)
        far = np.zeros(len(centre), np.float32)
        chunk = 1 << 20
        for start in range(0, len(face), chunk):
            f = face[start : start + chunk]
            offset = texel_point[start : start + chunk] - centre[f].astype(np.float32)
            np.maximum.at(far, f, np.sqrt(np.einsum("ij,ij->i", offset, offset)))
        radius = np.maximum(radius, far.astype(np.float64))
        # float32 points: a margin for their rounding, relative to the coordinates' size
        scale = float(np.abs(corners).max()) if corners.size else 0.0
        radius = radius * (1.0 + 1e-4) + 1e-5 * scale
        has = np.zeros(len(centre), bool)
        has[face] = True
        return cls(centre, radius, np.asarray(face_normal, np.float64), has, corners.astype(np.float32))

    def candidates(self, camera: Camera, min_cos: float, radius: float | None) -> NDArray[np.bool_]:
        """``(m,) bool``: the faces some of whose texels may pass :func:`frame` for ``camera`` (never a
        face with a texel that would pass it is left out).

        A face is left out when its sphere lies wholly behind the camera or outside a plane of the
        photo's frustum (the photo's edges through the lens's undistorted field, ``radius`` as in
        :func:`frame`, when the lens distorts), or when no point of the sphere can pass the facing
        test ``n . (c - p) > min_cos |c - p|`` (the face's normal ``n`` is taken from the vertices).
        """
        centre, r = self.centre, self.radius
        to_cam = np.asarray(camera.center, np.float64) - centre
        dist = np.sqrt(np.einsum("ij,ij->i", to_cam, to_cam))
        q = np.einsum("ij,kj->ik", to_cam, -np.asarray(camera.rotation, np.float64))  # R (p - c): the camera frame
        ok = self.has_texels & (q[:, 2] > -r)
        box: tuple[float, float, float, float] | None
        if camera.distortion.is_identity:
            box = (
                -camera.cx / camera.fx,
                (camera.width - camera.cx) / camera.fx,
                -camera.cy / camera.fy,
                (camera.height - camera.cy) / camera.fy,
            )
        elif radius is not None:
            box = (-radius, radius, -radius, radius)
        else:
            box = None
        if box is not None:
            x_lo, x_hi, y_lo, y_hi = box
            for axis, lo, hi in ((0, x_lo, x_hi), (1, y_lo, y_hi)):
                # inside: lo z <= x <= hi z; a sphere is wholly outside a plane through the centre when its
                # centre lies more than r beyond it
                ok &= (q[:, axis] - hi * q[:, 2]) / np.hypot(1.0, hi) < r
                ok &= (lo * q[:, 2] - q[:, axis]) / np.hypot(1.0, lo) < r
        return ok & self._may_face(to_cam, dist, min_cos)

    def _may_face(self, to_cam: NDArray[np.float64], dist: NDArray[np.float64], min_cos: float) -> NDArray[np.bool_]:
        """Faces where some point of the sphere may pass the facing test (needs the face normals)."""
        r = self.radius
        upper = np.einsum("ij,ij->i", self.normal, to_cam) + r  # n . (c - p) <= n . (c - centre) + r
        nearest = np.maximum(dist - r, 0.0) if min_cos >= 0 else dist + r
        return np.asarray(upper > min_cos * nearest, bool)
