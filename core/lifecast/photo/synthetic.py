"""A synthetic photogrammetry capture with a known albedo, for tests and benchmarks.

A mesh with UVs gets a procedural albedo (smooth colour fields plus fine stripes, defined in 3D, so the
truth is known at any surface point and for any UV layout), baked into its own UVs as a texture. The
capture's cameras stand in rings around the mesh (eye height, above, below), as on a photogrammetry rig,
each with:

- its own exposure and white balance (RGB gains, geometric mean 1 over the cameras, so the albedo's
  scale is what a gauge-fixed exposure solve recovers);
- vignetting, ``1 / (1 + a r^2)^2`` (the cos^4 law's shape; ``r`` is 1 at the photo's farthest corner);
- OpenCV lens distortion ``(k1, k2, p1, p2)``;
- a little sensor noise, then sRGB encoding to 8 bits.

Each photo pixel is ray cast (:func:`lifecast.bake.correspond.make_ray_engine`) through the true,
distorted camera to a face and barycentrics, then to UVs, then a bilinear lookup of the albedo texture.
The *recorded* rig (:attr:`SyntheticCapture.rig`) carries small pose noise, as a real calibration does:
projecting with it is what a real session does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lifecast.bake.correspond import RayEngine, make_ray_engine
from lifecast.bake.images import write_png
from lifecast.bake.padding import pad_edges
from lifecast.color import linear_to_srgb
from lifecast.io.cameras.model import Camera, CameraRig, Distortion
from lifecast.mesh import TriMesh
from lifecast.photo.sampling import bilinear
from lifecast.photo.texels import texel_set
from lifecast.photo.visibility import grid_directions, rotate
from lifecast.uv.udim import face_udims


def prepared_mesh(path: Path, *, faces: int = 8000, texture_size: int = 512) -> TriMesh:
    """A mesh file made ready for a synthetic capture: read, colours dropped, decimated to about ``faces``
    triangles (:func:`lifecast.geometry.build_lods`) and unwrapped for ``texture_size`` (:func:`lifecast.uv.unwrap`).
    """
    from lifecast.geometry import build_lods
    from lifecast.io import read_scan
    from lifecast.uv import unwrap

    mesh = read_scan(path).mesh.with_(vertex_colors=None, texture=None, uvs=None, face_uvs=None)
    if len(mesh.faces) > faces:
        mesh = build_lods(mesh, [faces])[0]
    return unwrap(mesh, texture_size=texture_size)


#: Linear colour of the backdrop behind the subject.
BACKDROP = (0.03, 0.035, 0.04)


class ProceduralAlbedo:
    """A colourful albedo defined in 3D: smooth colour fields plus fine stripes, in linear RGB ``[0.02, 0.8]``.

    Parameters
    ----------
    lo, hi
        ``(3,)`` bounding box of the mesh (sets the scale of the pattern).
    detail
        Wavelength of the finest stripes, as a fraction of the box's diagonal.
    seed
        Seed of the pattern.
    """

    def __init__(self, lo: ArrayLike, hi: ArrayLike, *, detail: float = 1 / 40, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.centre = 0.5 * (np.asarray(lo, np.float64) + np.asarray(hi, np.float64))
        diagonal = float(np.linalg.norm(np.asarray(hi, np.float64) - np.asarray(lo, np.float64)))
        self.base = np.array([0.22, 0.16, 0.12])
        waves = []
        # (count, wavelength range as a fraction of the diagonal, amplitude per wave)
        for count, (w_lo, w_hi), amplitude in ((4, (0.4, 0.8), 0.07), (6, (detail, 2.5 * detail), 0.035)):
            for _ in range(count):
                direction = rng.normal(size=3)
                direction /= np.linalg.norm(direction)
                wavelength = rng.uniform(w_lo, w_hi) * diagonal
                colour = rng.uniform(-1.0, 1.0, size=3)
                colour *= amplitude / np.abs(colour).max()
                waves.append((direction * (2 * np.pi / wavelength), rng.uniform(0, 2 * np.pi), colour))
        self.waves = waves

    def __call__(self, points: NDArray[np.floating]) -> NDArray[np.float32]:
        """``(n, 3) float32`` linear albedo at ``(n, 3)`` points."""
        p = np.asarray(points, np.float64) - self.centre
        out = np.broadcast_to(self.base, (len(p), 3)).copy()
        for k, phase, colour in self.waves:
            out += np.sin(p @ k + phase)[:, None] * colour
        return np.clip(out, 0.02, 0.8).astype(np.float32)


#: Conservative margin (texels) the albedo is baked with: a bilinear lookup anywhere inside a chart reads only
#: texels whose value is the albedo at a point of that chart (within 1.5 texels diagonally of the lookup).
BAKE_MARGIN_PX = 2.0


def bake_albedo(mesh: TriMesh, albedo: ProceduralAlbedo, size: int) -> NDArray[np.float32]:
    """``(size, size, 3) float32`` the albedo baked into the mesh's 0-1 UVs, safe to sample bilinearly.

    Texels up to :data:`BAKE_MARGIN_PX` outside a chart take the albedo at the nearest point of its border
    (so lookups near a UV seam read no padding); the rest of the gutter is edge-padded.
    """
    assert mesh.uvs is not None and mesh.face_uvs is not None
    texels = texel_set(mesh, [1001], face_udims(mesh.uvs, mesh.face_uvs), size, margin_px=BAKE_MARGIN_PX)
    tile = texels.tiles[0]
    image = tile.image(albedo(texels.point))
    covered = np.asarray(tile.image(np.ones(len(tile.texel), bool), fill=False), bool)
    return np.asarray(pad_edges(image, covered), np.float32)


def look_at(name: str, centre: NDArray[np.floating], target: NDArray[np.floating], up: NDArray[np.floating],
            width: int, height: int, focal: float, distortion: Distortion) -> Camera:  # fmt: skip
    """A camera at ``centre`` looking at ``target`` with ``up`` towards the top of the photo."""
    forward = np.asarray(target, np.float64) - centre
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])
    return Camera(name, width, height, focal, focal, width / 2, height / 2, rotation, -rotation @ centre,
                  distortion)  # fmt: skip


def _perturbed(camera: Camera, angle: float, shift: float, rng: np.random.Generator) -> Camera:
    """The camera turned by about ``angle`` radians and moved by about ``shift`` (Gaussian, random axes)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    theta = rng.normal() * angle
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    turn = np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * (k @ k)
    rotation = turn @ camera.rotation
    centre = camera.center + rng.normal(size=3) * shift
    return Camera(camera.name, camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy, rotation,
                  -rotation @ centre, camera.distortion, camera.sensor_id)  # fmt: skip


@dataclass(frozen=True)
class SyntheticCapture:
    """A synthetic capture and its truth; photos are rendered on demand (and kept when ``keep``).

    Attributes
    ----------
    mesh
        The subject, with its own UVs.
    albedo
        The procedural albedo (the truth at any point).
    texture
        ``(t, t, 3) float32`` the albedo baked into the mesh's UVs (what the photos are rendered from).
    rig
        The recorded cameras (with pose noise), source ``"synthetic"``.
    true_rig
        The cameras the photos are rendered with.
    gains
        ``(P, 3)`` each camera's RGB gain.
    vignetting
        ``(P,)`` each camera's vignetting strength ``a``.
    noise
        Sensor noise (sRGB units).
    seed
        Seed of the sensor noise (each photo's is drawn from ``(seed, camera index)``).
    keep
        Keep rendered photos in memory (small captures for tests); off, each call renders again.
    """

    mesh: TriMesh
    albedo: ProceduralAlbedo
    texture: NDArray[np.float32]
    rig: CameraRig
    true_rig: CameraRig
    gains: NDArray[np.float64]
    vignetting: NDArray[np.float64]
    noise: float = 0.003
    seed: int = 0
    keep: bool = True
    _engine: Any = field(default=None, repr=False, compare=False)
    _photos: dict[str, NDArray[np.uint8]] = field(default_factory=dict, repr=False, compare=False)

    def render(self, index: int, *, scale: float = 1.0) -> NDArray[np.uint8]:
        """The ``(h, w, 3) uint8`` sRGB photo of camera ``index``.

        ``scale < 1`` renders that much smaller and resizes the result up to the camera's size (bicubic): the
        right size and content for timing big photos without tracing every pixel.
        """
        cam = self.true_rig.cameras[index]
        engine = self._engine or make_ray_engine(self.mesh.vertices, self.mesh.faces)
        if self._engine is None:
            object.__setattr__(self, "_engine", engine)
        rng = np.random.default_rng([self.seed, index])
        small = cam if scale == 1.0 else cam.scaled(scale)
        pixels = _render(small, engine, self.mesh, self.texture, self.gains[index], self.vignetting[index],
                         self.noise, rng)  # fmt: skip
        if small is not cam:
            import cv2

            pixels = np.asarray(cv2.resize(pixels, (cam.width, cam.height), interpolation=cv2.INTER_CUBIC), np.uint8)
        return pixels

    def image(self, camera: Camera) -> NDArray[np.uint8]:
        """The photo of a camera (found by name): an image source for :func:`lifecast.photo.project_photos`."""
        if camera.name in self._photos:
            return self._photos[camera.name]
        index = self.true_rig.names.index(camera.name)
        pixels = self.render(index)
        if self.keep:
            self._photos[camera.name] = pixels
        return pixels

    def write_photos(self, folder: Path, *, scale: float = 1.0, quality: int = 95) -> Path:
        """Write every photo into ``folder`` under its camera's name (PNG, or JPEG at ``quality`` for a
        ``.jpg`` name), rendering one at a time; returns ``folder``."""
        import cv2

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for index, cam in enumerate(self.true_rig.cameras):
            pixels = self._photos.get(cam.name)
            if pixels is None:
                pixels = self.render(index, scale=scale)
            if Path(cam.name).suffix.lower() == ".png":
                write_png(folder / cam.name, pixels)
            else:
                cv2.imwrite(str(folder / cam.name), pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return folder


def synthetic_capture(
    mesh: TriMesh,
    *,
    cameras: int = 24,
    width: int = 512,
    height: int = 384,
    texture_size: int = 2048,
    up: Sequence[float] | None = None,
    pose_noise_px: float = 0.3,
    gain_spread: float = 0.15,
    vignetting: tuple[float, float] = (0.08, 0.2),
    distortion: tuple[float, float, float, float] = (-0.08, 0.02, 0.0008, -0.0005),
    noise: float = 0.003,
    detail: float = 1 / 40,
    extension: str = ".png",
    keep: bool = True,
    seed: int = 0,
) -> SyntheticCapture:
    """Set up a synthetic capture of ``mesh`` (see the module docstring); photos render on first use.

    Parameters
    ----------
    mesh
        A mesh with UVs in 0-1.
    cameras
        Number of cameras: about 60 % on a ring at eye height, 25 % above (35 degrees up), 15 % below
        (25 degrees down), each ring evenly spread and offset from the others.
    width, height
        Photo size in pixels.
    texture_size
        Resolution the albedo is baked at before rendering.
    up
        The mesh's up direction; ``None``: the axis of its bounding box's longest side.
    pose_noise_px
        Pose error of the recorded cameras, in pixels at the subject (rotation and translation alike).
    gain_spread
        Standard deviation of the log exposure between cameras (white balance gets a third of it per channel).
    vignetting
        Range of the vignetting strength ``a`` the cameras draw from.
    distortion
        OpenCV ``(k1, k2, p1, p2)`` of every camera.
    noise
        Standard deviation of the sensor noise, in sRGB units.
    detail
        Wavelength of the albedo's finest stripes, as a fraction of the mesh's diagonal.
    extension
        Extension of the cameras' image names (``".png"``, ``".jpg"``).
    keep
        Keep rendered photos in memory.
    seed
        Seed of everything random.

    Returns
    -------
    SyntheticCapture
    """
    assert mesh.uvs is not None and mesh.face_uvs is not None, "the synthetic capture needs a mesh with UVs"
    rng = np.random.default_rng(seed)
    lo, hi = mesh.vertices.min(axis=0).astype(np.float64), mesh.vertices.max(axis=0).astype(np.float64)
    albedo = ProceduralAlbedo(lo, hi, detail=detail, seed=seed)
    texture = bake_albedo(mesh, albedo, texture_size)
    up_axis = np.zeros(3)
    if up is None:
        up_axis[int(np.argmax(hi - lo))] = 1.0
    else:
        up_axis = np.asarray(up, np.float64) / np.linalg.norm(up)
    lens = Distortion("opencv", (*distortion, 0, 0, 0, 0))
    true_cams = _ring_cameras(mesh, cameras, width, height, up_axis, lens, extension)
    recorded = []
    for cam in true_cams:
        angle = pose_noise_px / cam.fx
        distance = float(np.linalg.norm(cam.center - 0.5 * (lo + hi)))
        recorded.append(_perturbed(cam, angle, angle * distance * 0.5, rng))
    exposure = rng.normal(0.0, gain_spread, size=(cameras, 1)) + rng.normal(0.0, gain_spread / 3, size=(cameras, 3))
    exposure -= exposure.mean(axis=0)
    return SyntheticCapture(
        mesh=mesh,
        albedo=albedo,
        texture=texture,
        rig=CameraRig(tuple(recorded), "synthetic", ("recorded poses carry noise",)),
        true_rig=CameraRig(tuple(true_cams), "synthetic"),
        gains=np.exp(exposure),
        vignetting=rng.uniform(vignetting[0], vignetting[1], size=cameras),
        noise=noise,
        seed=seed,
        keep=keep,
    )


def _ring_cameras(
    mesh: TriMesh,
    count: int,
    width: int,
    height: int,
    up: NDArray[np.float64],
    distortion: Distortion,
    extension: str,
) -> list[Camera]:
    """Cameras on three rings around the mesh, all framing its bounding sphere."""
    v = mesh.vertices.astype(np.float64)
    centre = 0.5 * (v.min(axis=0) + v.max(axis=0))
    radius = float(np.linalg.norm(v - centre, axis=1).max())
    distance = 3.0 * radius
    focal = 0.5 * min(width, height) / np.tan(np.arcsin(radius / distance)) * 0.97
    side = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    side /= np.linalg.norm(side)
    front = np.cross(up, side)
    above = max(1, round(count * 0.25)) if count >= 4 else 0
    below = max(1, round(count * 0.15)) if count >= 6 else 0
    rings = ((count - above - below, 0.0, 0.0), (above, 35.0, 0.5), (below, -25.0, 0.25))
    cams: list[Camera] = []
    for n, elevation, offset in rings:
        for k in range(n):
            azimuth = 2 * np.pi * (k + offset) / n
            el = np.radians(elevation)
            direction = np.cos(el) * (np.cos(azimuth) * side + np.sin(azimuth) * front) + np.sin(el) * up
            name = f"cam{len(cams):03d}{extension}"
            cams.append(look_at(name, centre + distance * direction, centre, up, width, height, focal, distortion))
    return cams


def _render(
    camera: Camera,
    engine: RayEngine,
    mesh: TriMesh,
    texture: NDArray[np.float32],
    gain: NDArray[np.float64],
    vignetting: float,
    noise: float,
    rng: np.random.Generator,
) -> NDArray[np.uint8]:
    """One ``(h, w, 3) uint8`` sRGB photo through ``camera``."""
    assert mesh.uvs is not None and mesh.face_uvs is not None
    w, h = camera.width, camera.height
    directions = rotate(grid_directions(camera), camera.rotation.T)
    ok = np.flatnonzero(np.isfinite(directions).all(axis=1))
    colour = np.broadcast_to(np.asarray(BACKDROP, np.float32), (w * h, 3)).copy()
    origins = np.broadcast_to(np.asarray(camera.center, np.float32), (len(ok), 3))
    hits = engine.cast(np.ascontiguousarray(origins), np.ascontiguousarray(directions[ok]), 1e30)
    hit = ok[hits.face >= 0]
    face, bary = hits.face[hits.face >= 0], hits.bary[hits.face >= 0]
    uv = np.einsum("qk,qkd->qd", bary, mesh.uvs[mesh.face_uvs[face]])
    size = texture.shape[0]
    colour[hit] = bilinear(texture, uv[:, 0] * size - 0.5, (1.0 - uv[:, 1]) * size - 0.5)
    cols, rows = np.meshgrid(np.arange(w, dtype=np.float32) + 0.5, np.arange(h, dtype=np.float32) + 0.5)
    corner = np.hypot(max(camera.cx, w - camera.cx), max(camera.cy, h - camera.cy))
    r2 = (((cols - camera.cx) ** 2 + (rows - camera.cy) ** 2) / corner**2).ravel()
    colour *= (gain[None, :] / (1.0 + vignetting * r2[:, None]) ** 2).astype(np.float32)
    encoded = linear_to_srgb(colour) + rng.normal(0.0, noise, size=colour.shape).astype(np.float32)
    return np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8).reshape(h, w, 3)
