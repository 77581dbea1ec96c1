"""Project a photogrammetry session's calibrated photos onto any mesh's UV tiles.

:func:`project_photos` textures every covered texel of the asked UDIM tiles from the photos that see
it, streaming the photos: each is read, used and dropped, the next one read on a second thread meanwhile
(two photos held at most), so memory is bounded by the maps (about 70 bytes per covered texel), not by the
number of the photos.

1. **Texels** (:mod:`lifecast.photo.texels`): each tile is rasterized; every covered texel gets its
   surface point, smooth normal and footprint (its side on the surface).
2. **Framing**: each camera is checked against a sparse subset of the texels; cameras that frame none of
   the surface are skipped, and when no camera frames any, the rig and the mesh are in different frames
   or units (:class:`lifecast.errors.InputError` with the mesh's box and the cameras' spread).
3. **Exposure pass** (:mod:`lifecast.photo.exposure`): each photo is sampled at the subset texels it
   sees (one pyramid level coarser than the blend, from a JPEG decoded at half size); the per-photo
   corrections (RGB gain, vignetting, a smooth colour ramp over the surface) are solved on the overlaps.
4. **Blending pass** (:mod:`lifecast.photo.blend`): each photo is sampled at every texel it sees
   (:mod:`lifecast.photo.visibility`: only the texels of faces whose bounding sphere may face the camera
   and lie in its frustum are looked at; faces away from the contour of the surface as the camera sees it
   are seen whole or not at all, their corners tell which, and need no ray per texel), bilinearly at the
   distorted pixel position from a box pyramid of the photo decoded to linear light, at the level of one
   pyramid pixel per texel (no aliasing) and at a coarser level for the low band; corrected; weighted
   (:mod:`lifecast.photo.weights`); accumulated. A photo's texels are taken in chunks by worker threads
   (one per CPU, at most 4), accumulated in order here.
5. The texels no photo saw stay uncovered (``coverage`` False, colour 0): an inpainting stage fills them,
   never a silent black.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.correspond import RayEngine, make_ray_engine
from lifecast.bake.validation import select_tiles
from lifecast.errors import InputError
from lifecast.io.cameras.model import CameraRig
from lifecast.mesh import TriMesh
from lifecast.photo.blend import HIGH_POWER, BandAccumulator
from lifecast.photo.exposure import GAIN_FEATURES, LEVELLING_FEATURES, ColorModel, Observations, solve
from lifecast.photo.photos import ImageSource, UnusablePhotoError, load_photo
from lifecast.photo.sampling import Pyramid, decode_srgb
from lifecast.photo.texels import TexelSet, texel_set
from lifecast.photo.visibility import (
    CameraView,
    Contours,
    FaceBounds,
    VisibilitySettings,
    field_radius,
    frame,
    unblocked,
)
from lifecast.photo.weights import pyramid_levels, view_weights
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.threads import available_cpus

Blend = Literal["two_band", "best"]

#: Fewest subset texels the exposure pass samples (the budget divided by the photo count, down to this).
MIN_SUBSET = 1024
#: The exposure pass reads photos reduced this many times when their format decodes so directly (JPEG): it reads
#: colours one pyramid level coarser than the blend, which is at least level 1 (the half-size photo).
EXPOSURE_REDUCTION = 2

#: Half-width of a pyramid level's blur, in units of its pixel size (the binomial kernel reaches 2 pixels of
#: the level below, i.e. one pixel of its own level, beyond the pixel itself).
BLUR_REACH = 1.5


@dataclass(frozen=True)
class ProjectionSettings:
    """The knobs of :func:`project_photos`; the defaults suit a turntable or rig capture of a person.

    Attributes
    ----------
    exposure
        Solve each photo's RGB gain on the overlaps (exposure and white balance).
    levelling
        Also solve each photo's vignetting and smooth colour ramp (:mod:`lifecast.photo.exposure`).
    blend
        ``"two_band"``: low band averaged over the photos, detail from the best ones
        (:mod:`lifecast.photo.blend`); ``"best"``: the single best photo per texel (view selection).
    split_texels
        Blur, in texels, between the low band and the detail.
    high_power
        Exponent of the detail band's weights.
    min_cos
        Grazing limit: cosine between a face normal and the direction to the camera.
    depth_tolerance
        Depth test tolerance in mesh units; ``None``: 0.1 % of the mesh's bounding-box diagonal, 0.5 %
        with an ``occluder`` (a wrapped template lies a little off the scan).
    feather
        Fade width near silhouettes, occlusions, masks and the photo border, as a fraction of the
        photo's long side.
    min_weight
        Weights below this are dropped.
    observation_budget
        Observations the exposure pass keeps at most (the subset of texels shrinks as photos are added).
    chunk
        Texels processed at once per photo, shared among the worker threads (bounds temporary memory).
    seed
        Seed of the texel subset.
    """

    exposure: bool = True
    levelling: bool = True
    blend: Blend = "two_band"
    split_texels: float = 8.0
    high_power: float = HIGH_POWER
    min_cos: float = 0.1
    depth_tolerance: float | None = None
    feather: float = 0.01
    min_weight: float = 1e-3
    observation_budget: int = 600_000
    chunk: int = 1 << 20
    seed: int = 0

    def features(self) -> tuple[str, ...]:
        """The colour-model features these settings solve."""
        return (GAIN_FEATURES if self.exposure else ()) + (LEVELLING_FEATURES if self.levelling else ())


@dataclass(frozen=True)
class PhotoReport:
    """What became of one camera's photo.

    Attributes
    ----------
    name
        The camera's name.
    used
        Whether the photo was blended in.
    reason
        Why not (empty when used).
    gain
        ``(r, g, b)`` gain solved for it (1 when not solved): the photo was this much brighter than the result.
    texels
        Texels it contributed to.
    best_texels
        Texels where it had the largest weight.
    notes
        What was assumed (e.g. a camera scaled to a resized image, a missing mask).
    """

    name: str
    used: bool
    reason: str = ""
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    texels: int = 0
    best_texels: int = 0
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "name": self.name,
            "used": self.used,
            "reason": self.reason,
            "gain": [round(g, 5) for g in self.gain],
            "texels": self.texels,
            "best_texels": self.best_texels,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ProjectionResult:
    """The textured tiles and what each photo did.

    Attributes
    ----------
    albedo
        ``{udim: (size, size, 3) float32}`` linear colours, 0 where uncovered.
    coverage
        ``{udim: (size, size) bool}`` texels some photo saw.
    source
        ``{udim: (size, size) int16}`` index (in the rig) of the photo with the largest weight, -1 where uncovered.
    photos
        One :class:`PhotoReport` per camera of the rig, in its order.
    warnings
        Lines for the artist: photos skipped and why.
    seconds
        Time per step.
    """

    albedo: dict[int, NDArray[np.float32]]
    coverage: dict[int, NDArray[np.bool_]]
    source: dict[int, NDArray[np.int16]]
    photos: tuple[PhotoReport, ...]
    warnings: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """A JSON-able summary: coverage per tile, per-photo reports, warnings, times."""
        return {
            "coverage_percent": {str(u): round(float(m.mean()) * 100.0, 3) for u, m in self.coverage.items()},
            "photos_used": sum(p.used for p in self.photos),
            "photos_skipped": sum(not p.used for p in self.photos),
            "photos": [p.to_json() for p in self.photos],
            "warnings": list(self.warnings),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def project_photos(
    mesh: TriMesh,
    rig: CameraRig,
    images: ImageSource,
    *,
    size: int,
    udims: Sequence[int] | Literal["auto"] | None = None,
    masks: Path | None = None,
    occluder: TriMesh | None = None,
    settings: ProjectionSettings | None = None,
    progress: ProgressFn = no_progress,
) -> ProjectionResult:
    """Texture a mesh's UV tiles from calibrated photos (see the module docstring).

    Parameters
    ----------
    mesh
        The mesh to texture, with ``uvs`` / ``face_uvs``, in the cameras' frame and units.
    rig
        The calibrated cameras (:func:`lifecast.io.cameras.read_cameras`).
    images
        Folder holding the photos (found by the cameras' names), or a function giving a camera's
        ``(h, w, 3)`` sRGB image (``uint8``, ``uint16`` or float in ``[0, 1]``).
    size
        Texels per tile side.
    udims
        ``None``: the UVs must lie in 0-1 (tile 1001); ``"auto"``: every tile the UVs use; a list: these tiles.
    masks
        Folder of masks named like the photos, white where the photo may be used.
    occluder
        The surface that hides things from the cameras (the scan, when ``mesh`` is a template wrapped onto
        it); default ``mesh`` itself.
    settings
        See :class:`ProjectionSettings`.
    progress
        Called with a fraction in ``[0, 1]`` and a message.

    Returns
    -------
    ProjectionResult

    Raises
    ------
    InputError
        No UVs, no cameras, UVs outside the tiles asked for, no camera that frames the mesh (wrong frame or
        units), no usable photo.
    """
    s = settings or ProjectionSettings()
    if mesh.uvs is None or mesh.face_uvs is None:
        raise InputError("the mesh has no UVs to project photos into: unwrap it first")
    if len(rig.cameras) == 0:
        raise InputError("the camera rig has no cameras")
    if len(rig.cameras) > np.iinfo(np.int16).max:
        raise InputError(
            f"{len(rig.cameras):,} cameras: at most {np.iinfo(np.int16).max:,} photos are projected at once"
        )
    if size < 1:
        raise InputError(f"texture size must be positive, got {size}")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    progress(0.0, "rasterizing UV tiles")
    tiles, face_tile = select_tiles(mesh, udims)
    texels = texel_set(mesh, tiles, face_tile, size)
    if len(texels) == 0:
        raise InputError(f"no texel of tiles {tiles} is covered at {size}px: the UVs are degenerate")
    surface = occluder if occluder is not None else mesh
    engine = make_ray_engine(surface.vertices, surface.faces)
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    diagonal = float(np.linalg.norm(hi - lo))
    tolerance = s.depth_tolerance
    if tolerance is None:
        tolerance = diagonal * (5e-3 if occluder is not None else 1e-3)
    vis = VisibilitySettings(min_cos=s.min_cos, depth_tolerance=float(tolerance), feather=s.feather)
    scale = _PositionScale(lo, hi)
    bounds = FaceBounds.of(mesh.vertices, mesh.faces, texels.face_normal, texels.face, texels.point)
    # Faces seen whole or not at all are found from the occluding surface's contour: known when it is the mesh
    # itself (a wrapped template lies a little off its occluder, where only a ray per texel tells).
    contours = Contours.of(mesh.vertices, mesh.faces) if occluder is None else None
    seconds["texels"] = time.perf_counter() - t0

    run = _Run(rig, images, masks, texels, bounds, contours, engine, vis, s, scale, progress)
    run.check_framing()
    t = time.perf_counter()
    model = run.exposure_pass() if s.features() else ColorModel.identity(len(rig.cameras))
    seconds["exposure"] = time.perf_counter() - t
    t = time.perf_counter()
    acc = run.blend_pass(model)
    seconds["blend"] = time.perf_counter() - t

    colour, covered = acc.result()
    best = np.where(covered, acc.best, -1).astype(np.int16)
    del acc  # the sums: half of the memory held, no longer needed
    tiles_texels = texels.tiles
    run.release()
    del texels, engine
    if not covered.any():
        raise InputError(
            "no photo sees any texel of the mesh: every view is hidden or masked "
            f"({run.usable_count()} photo(s) read); check the masks and that the mesh is the one photographed"
        )
    albedo, coverage, source = {}, {}, {}
    for tile in tiles_texels:
        part = slice(tile.start, tile.stop)
        albedo[tile.udim] = tile.image(colour[part])
        coverage[tile.udim] = tile.image(covered[part], fill=False)
        source[tile.udim] = tile.image(best[part], fill=-1)
    best_counts = np.bincount(best[best >= 0], minlength=len(rig.cameras))
    reports = run.reports(model, best_counts)
    seconds["total"] = time.perf_counter() - t0
    progress(1.0, f"textured {len(tiles)} tile(s) from {sum(r.used for r in reports)} photo(s)")
    return ProjectionResult(albedo, coverage, source, reports, tuple(run.warnings), seconds)


#: What :meth:`_Run._samples` gives: texel indices, weights, r², full and low-band colours.
_Samples = tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]


@dataclass(frozen=True)
class _Loaded:
    """One photo ready to sample: its view (camera, mask, edges), its pyramid (``reduction`` times smaller than
    the camera's image), its notes and, when culled, the texels it may see and the faces it sees whole."""

    index: int
    view: CameraView
    pyramid: Pyramid
    reduction: int
    notes: tuple[str, ...]
    candidates: NDArray[np.int64] | None
    whole: NDArray[np.bool_] | None


@dataclass(frozen=True)
class _PositionScale:
    """Maps mesh positions into ``[-1, 1]`` (isotropically, by the bounding box's largest half side)."""

    lo: NDArray[np.float32]
    hi: NDArray[np.float32]

    def __call__(self, points: NDArray[np.floating]) -> NDArray[np.float32]:
        centre = 0.5 * (self.lo + self.hi)
        half = max(float((self.hi - self.lo).max()) * 0.5, 1e-30)
        return np.asarray((points - centre) / half, np.float32)


class _Run:
    """The state of one projection: which photos are usable, their effective cameras, notes and counts."""

    def __init__(
        self,
        rig: CameraRig,
        images: ImageSource,
        masks: Path | None,
        texels: TexelSet,
        bounds: FaceBounds,
        contours: Contours | None,
        engine: RayEngine,
        vis: VisibilitySettings,
        settings: ProjectionSettings,
        scale: _PositionScale,
        progress: ProgressFn,
    ) -> None:
        self.rig = rig
        self.images = Path(images) if isinstance(images, str) else images
        self.masks = Path(masks) if masks is not None else None
        self.texels = texels
        self.bounds = bounds
        self.contours = contours
        self.engine = engine
        self.vis = vis
        self.settings = settings
        self.scale = scale
        self.progress = progress
        n = len(rig.cameras)
        self.skipped: list[str] = [""] * n
        self.notes: list[tuple[str, ...]] = [()] * n
        self.texels_used = np.zeros(n, np.int64)
        self.warnings: list[str] = []
        rng = np.random.default_rng(settings.seed)
        active = max(1, n)
        # At most the budget's worth of observations whatever the photo count (each subset texel seen by every
        # photo at worst): 15,000 texels for 40 photos, 1,500 for 400 (a photo's corrections have 6 unknowns a channel).
        want = int(np.clip(settings.observation_budget // active, MIN_SUBSET, 1 << 18))
        self.subset = np.sort(rng.choice(len(texels), size=min(want, len(texels)), replace=False))

    def release(self) -> None:
        """Drop the texels and the ray engine (the largest arrays after the sums) once the photos are blended."""
        self.texels = None  # type: ignore[assignment]
        self.bounds = None  # type: ignore[assignment]
        self.contours = None
        self.engine = None  # type: ignore[assignment]

    def usable_count(self) -> int:
        return sum(not reason for reason in self.skipped)

    def _skip(self, i: int, reason: str) -> None:
        self.skipped[i] = reason
        self.warnings.append(f"photo {self.rig.cameras[i].name}: skipped, {reason}")

    def check_framing(self) -> None:
        """Skip cameras that see none of the subset; an :class:`InputError` when no camera sees any."""
        points = self.texels.point[self.subset]
        normals = self.texels.face_normal[self.texels.face[self.subset]]
        framed_any = False
        seen_any = False
        for i, cam in enumerate(self.rig.cameras):
            framed = frame(cam, points, normals, self.vis.min_cos, field_radius(cam))
            seen = unblocked(self.engine, cam.center, framed.to_cam, framed.dist, self.vis.depth_tolerance)
            framed_any |= len(framed.index) > 0
            seen_any |= bool(seen.any())
            if len(framed.index) == 0:
                self._skip(i, "its camera frames none of the mesh")
            elif not seen.any():
                self._skip(i, "its camera frames the mesh but sees none of its outside (is it inside the mesh?)")
        if not seen_any:
            raise InputError(_framing_message(self.texels, self.rig, framed_any))

    def _photos(self, start: float, end: float, what: str, reduce: int = 1, cull: bool = False) -> Iterator[_Loaded]:
        """Each usable photo in turn, ready to sample (read here, dropped by the caller); unusable ones are
        skipped and noted.

        The next photo is read, its pyramid built and its view prepared on a second thread while the caller uses
        this one (decoding, filtering and ray tracing release the GIL): at most two photos are held at once,
        whatever their number. ``cull``: also find the texels each may see (:meth:`_candidates`).
        """
        n = len(self.rig.cameras)
        todo = [i for i in range(n) if not self.skipped[i]]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifecast-photo") as pool:
            pending: deque[tuple[int, Future[_Loaded | UnusablePhotoError]]] = deque()
            for k, i in enumerate(todo):
                if not pending:
                    pending.append((i, pool.submit(self._read, i, reduce, cull)))
                if k + 1 < len(todo):
                    pending.append((todo[k + 1], pool.submit(self._read, todo[k + 1], reduce, cull)))
                j, future = pending.popleft()
                self.progress(start + (end - start) * j / n, f"{what}: {self.rig.cameras[j].name}")
                loaded = future.result()
                del future
                if isinstance(loaded, UnusablePhotoError):
                    self._skip(j, str(loaded))
                    continue
                self.notes[j] = loaded.notes
                yield loaded
                del loaded  # before the next read starts: two photos held at most
        if self.usable_count() == 0:
            reasons = sorted({r for r in self.skipped if r})
            raise InputError(f"none of the {n} photos can be used: " + "; ".join(reasons[:5]))

    def _read(self, i: int, reduce: int, cull: bool) -> _Loaded | UnusablePhotoError:
        """Photo ``i`` ready to sample (its pixels dropped once its pyramid is built), or why it cannot be used."""
        try:
            photo = load_photo(self.images, self.rig.cameras[i], self.masks, reduce=reduce)
        except UnusablePhotoError as exc:
            return exc
        pyramid = Pyramid(decode_srgb(photo.image))
        view = CameraView(photo.camera, self.engine, self.vis, photo.mask)
        candidates, whole = self._candidates(view) if cull else (None, None)
        return _Loaded(i, view, pyramid, photo.reduction, photo.notes, candidates, whole)

    def _candidates(self, view: CameraView) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """The texels (ascending) on faces that may face the camera and lie in its
        frustum (:class:`lifecast.photo.visibility.FaceBounds`: the others cannot pass :func:`frame`) less the
        faces it sees none of, and ``(m,) bool`` the faces it sees whole (:meth:`CameraView.seen_faces`)."""
        faces = self.bounds.candidates(view.camera, self.vis.min_cos, field_radius(view.camera))
        whole, hidden = view.seen_faces(self.bounds, faces, self.contours)
        faces &= ~hidden
        return np.flatnonzero(faces[self.texels.face]), whole

    def _samples(
        self,
        view: CameraView,
        pyramid: Pyramid,
        index: NDArray[np.int64],
        levels: Literal["exposure", "blend"],
        whole: NDArray[np.bool_] | None,
        reduction: int = 1,
    ) -> _Samples:
        """Seen texels among ``index``: their indices, weights, r² and colours (full and low band; for the
        exposure pass the first colour is read one level coarser and the second is not read).

        ``pyramid`` is built from the photo reduced ``reduction`` times (a power of 2): its level ``k`` stands
        for the photo's level ``k + log2(reduction)``, and no colour is read finer than its level 0."""
        t = self.texels
        face = t.face[index]
        seen = view.look(t.point[index], t.normal[index], t.face_normal[face], None if whole is None else whole[face])
        del face
        cam = view.camera
        idx = index[seen.index]
        rho = np.asarray(0.5 * (cam.fx + cam.fy) * t.footprint[idx] / seen.depth, np.float32)
        full_level, low_level = pyramid_levels(rho, self.settings.split_texels)
        shift = np.float32(np.log2(reduction))
        if levels == "exposure":
            full_level = np.maximum(full_level + np.float32(1.0), shift)
        # A colour read at pyramid level L averages the photo over about 2^L pixels each way: it must not reach
        # over an edge (the backdrop, another surface), so the fade near edges is at least that wide.
        reach = np.float32(BLUR_REACH) * np.exp2(full_level if levels == "exposure" else low_level)
        feather = np.maximum(reach, np.float32(view.feather_px))
        weight = view_weights(seen.cos, rho, seen.edge_px, min_cos=self.vis.min_cos, feather_px=feather)
        keep = weight >= self.settings.min_weight
        idx, weight, xy = idx[keep], weight[keep], seen.xy[keep]
        full_level, low_level = full_level[keep], low_level[keep]
        corner = max(np.hypot(cx, cy) for cx in (cam.cx, cam.width - cam.cx) for cy in (cam.cy, cam.height - cam.cy))
        r2 = np.asarray(((xy[:, 0] - cam.cx) ** 2 + (xy[:, 1] - cam.cy) ** 2) / corner**2, np.float32)
        if reduction != 1:
            xy = xy * np.float32(1.0 / reduction)
        full = pyramid.sample(xy, full_level - shift)
        if levels == "exposure":
            return idx, weight, r2, full, full
        return idx, weight, r2, full, pyramid.sample(xy, low_level - shift)

    def exposure_pass(self) -> ColorModel:
        """Sample every usable photo at the subset texels and solve the colour model."""
        observations = Observations()
        subset_position = self.scale(self.texels.point[self.subset])
        # Read one pyramid level coarser than the blend at least, the colours of this pass come from a photo decoded
        # at half size where the format allows it (JPEG's reduced decoding): a quarter of the pixels to decode.
        for loaded in self._photos(0.05, 0.35, "exposure pass", reduce=EXPOSURE_REDUCTION):
            i, view, pyramid, reduction = loaded.index, loaded.view, loaded.pyramid, loaded.reduction
            del loaded
            # the subset is small: no culling, every point gets its own ray
            idx, weight, r2, colour, _ = self._samples(view, pyramid, self.subset, "exposure", None, reduction)
            del pyramid
            observations.add(i, np.searchsorted(self.subset, idx), weight, colour, r2)
        self.progress(0.35, f"solving photo colour corrections on {len(observations):,} observations")
        return solve(observations, subset_position, len(self.rig.cameras), self.settings.features())

    def _corrected(
        self,
        i: int,
        view: CameraView,
        pyramid: Pyramid,
        whole: NDArray[np.bool_],
        model: ColorModel,
        index: NDArray[np.int64],
    ) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
        """Photo ``i``'s seen texels among ``index``, their weights and their corrected low-band and full colours."""
        idx, weight, r2, full, low = self._samples(view, pyramid, index, "blend", whole)
        if len(idx) == 0:
            return idx, weight, low, full
        factor = model.factor(i, r2, self.scale(self.texels.point[idx]))
        low /= factor
        full /= factor
        return idx, weight, low, full

    def blend_pass(self, model: ColorModel) -> BandAccumulator:
        """Sample every usable photo at every texel it sees, correct, weigh and accumulate."""
        s = self.settings
        best_only = s.blend == "best"
        acc = BandAccumulator(
            len(self.texels),
            high_power=np.inf if best_only else s.high_power,
            low_power=np.inf if best_only else 1.0,
        )
        # A photo's chunks are sampled on worker threads (numpy, OpenCV and the ray tracer release the GIL) while
        # this one accumulates them, in order; the chunks of one photo hold distinct texels, so the sums are
        # the same whichever finishes first. Chunks in flight: the workers' (their temporaries) and the results
        # waiting here (about 40 bytes per texel).
        workers = max(1, min(available_cpus(), 4))
        chunk = max(1, s.chunk // workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lifecast-blend") as pool:
            for loaded in self._photos(0.4, 0.95, "blending", cull=True):
                i, view, pyramid, candidates, whole = (
                    loaded.index, loaded.view, loaded.pyramid, loaded.candidates, loaded.whole
                )  # fmt: skip
                del loaded
                assert candidates is not None and whole is not None
                parts = [candidates[start : start + chunk] for start in range(0, len(candidates), chunk)]
                del candidates

                sample = partial(self._corrected, i, view, pyramid, whole, model)
                for idx, weight, low, full in pool.map(sample, parts):
                    if len(idx) == 0:
                        continue
                    acc.add(i, idx, weight, low, full)
                    self.texels_used[i] += len(idx)
                del pyramid, parts, sample
        return acc

    def reports(self, model: ColorModel, best_counts: NDArray[np.int64]) -> tuple[PhotoReport, ...]:
        gains = model.gains()
        out = []
        for i, cam in enumerate(self.rig.cameras):
            used = bool(not self.skipped[i] and self.texels_used[i] > 0)
            reason = self.skipped[i] or ("" if used else "it sees no texel (hidden or masked everywhere)")
            out.append(
                PhotoReport(
                    name=cam.name,
                    used=used,
                    reason=reason,
                    gain=(float(gains[i, 0]), float(gains[i, 1]), float(gains[i, 2])),
                    texels=int(self.texels_used[i]),
                    best_texels=int(best_counts[i]),
                    notes=self.notes[i],
                )
            )
        return tuple(out)


def _framing_message(texels: TexelSet, rig: CameraRig, framed: bool) -> str:
    """Why no camera sees the mesh, with the numbers that show it."""
    lo, hi = texels.point.min(axis=0), texels.point.max(axis=0)
    centres = np.array([c.center for c in rig.cameras])
    c_lo, c_hi = centres.min(axis=0), centres.max(axis=0)
    mesh_size = float(np.linalg.norm(hi - lo))
    spread = float(np.linalg.norm(c_hi - c_lo))
    distance = float(np.linalg.norm(centres.mean(axis=0) - 0.5 * (lo + hi)))
    hint = "the cameras and the mesh are in different frames"
    if spread > 0 and mesh_size > 0:
        ratio = spread / mesh_size
        if ratio > 30 or ratio < 1 / 30:
            hint += f" or units (the cameras spread over {ratio:.3g} times the mesh's size)"
    inside = bool(((centres >= lo) & (centres <= hi)).all(axis=1).all())
    if inside:
        hint += "; every camera centre lies inside the mesh's bounding box"

    def fmt(v: NDArray[np.floating]) -> str:
        return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"

    what = "sees any part of the mesh" if framed else "frames any part of the mesh"
    return (
        f"none of the {len(rig.cameras)} cameras {what}: {hint}. "
        f"Mesh box {fmt(lo)} to {fmt(hi)}; camera centres {fmt(c_lo)} to {fmt(c_hi)}, "
        f"their mean {distance:.4g} from the mesh's centre. Move the mesh into the cameras' frame "
        "(the rig's own reconstruction, or the similarity between the two tools) and check its units"
    )
