"""Training samples for the delight model: procedural skin on real geometry, lit in UV space.

One sample is one capture of one person on one mesh (:mod:`lifecast.ml.training_meshes`): a skin
(:func:`lifecast.ml.skin.random_skin_params`) painted over the whole map once (:func:`paint`: a pool of people
is painted before training, each then lit many times), a random light
(:func:`lifecast.ml.lighting.random_lighting`) and a square crop of the UV map. Like the model in use, it reads
the whole surface's lighting fit (:func:`lifecast.ml.sh.fit_shading`), here over :data:`FIT_TEXELS` random
texels of the map, so the light is only ever evaluated at those and the crop's texels: a sample costs
milliseconds, not a full map.

Everything is a function of the seed: ``sample(meshes, seed)`` is the same on every machine.

The target is the shading to remove, ``lit / albedo``, scaled to mean 1 per channel over the surface (the
delit texture keeps the capture's overall colour and exposure; colour calibration is not delighting), as a log
correction of the fit the model reads (:func:`lifecast.ml.features.texel_features`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.ml.features import FEATURES, FitSummary, texel_features
from lifecast.ml.lighting import Lighting, expose, light_directions, light_texels, random_lighting, soft_visibility
from lifecast.ml.sh import fit_shading
from lifecast.ml.skin import FaceFrame, random_skin_params, skin_albedo
from lifecast.ml.training_meshes import TrainingMesh

#: Texels the lighting fit and the mean colour read per sample.
FIT_TEXELS = 8192
#: The least fraction of a crop on the surface.
MIN_CROP_COVERAGE = 0.3


@dataclass(frozen=True)
class Sample:
    """One training crop.

    Attributes
    ----------
    features
        ``(FEATURES, c, c) float32`` (:mod:`lifecast.ml.features`).
    target
        ``(3, c, c) float32`` log correction of the fitted shading (0 off the surface).
    weight
        ``(c, c) float32`` 1 on the surface, 0 off it.
    """

    features: NDArray[np.float32]
    target: NDArray[np.float32]
    weight: NDArray[np.float32]


@dataclass(frozen=True)
class Capture:
    """A whole map lit: the ground truth for evaluation.

    Attributes
    ----------
    albedo, lit
        ``(s, s, 3) float32`` linear (0 off the surface).
    """

    albedo: NDArray[np.float32]
    lit: NDArray[np.float32]


def oiliness(position: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """``(q,)`` a smooth specular-strength field in ``[0.2, 1]`` over the surface (positions in metres)."""
    k = rng.normal(size=(2, 3)) * (2 * np.pi / 0.12)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    wave = np.sin(position @ k[0].astype(np.float32) + phase[0]) * np.sin(position @ k[1].astype(np.float32) + phase[1])
    return (0.6 + 0.4 * wave).astype(np.float32)


@dataclass(frozen=True)
class PaintedMesh:
    """A training mesh with one person's skin painted on.

    Attributes
    ----------
    mesh
        The mesh and its maps.
    albedo
        ``(s * s, 3) float16`` linear albedo per texel (0 off the surface).
    """

    mesh: TrainingMesh
    albedo: NDArray[np.float16]


def paint(meshes: list[TrainingMesh], count: int, seed: int) -> list[PaintedMesh]:
    """``count`` people (skin of seed ``seed + k``), round-robin over ``meshes``."""
    out = []
    for k in range(count):
        mesh = meshes[k % len(meshes)]
        rng = np.random.default_rng(seed + k)
        flat = np.flatnonzero(mesh.maps.covered.reshape(-1))
        albedo = np.zeros((mesh.maps.size**2, 3), np.float16)
        pos = mesh.maps.position.reshape(-1, 3)[flat]
        albedo[flat] = skin_albedo(pos, random_skin_params(rng), _face(mesh), texel_size=mesh.texel_size)
        out.append(PaintedMesh(mesh, albedo))
    return out


def _face(mesh: TrainingMesh) -> FaceFrame | None:
    return FaceFrame(dict(mesh.landmarks)) if mesh.landmarks else None


def _light(
    painted: PaintedMesh,
    flat: NDArray[np.intp],
    lighting: Lighting,
    rng: np.random.Generator,
    reference: int,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Albedo and recorded (exposed, 8-bit) colour of texels ``flat`` (flat indices into the map); the exposure is
    set by the first ``reference`` of them."""
    mesh = painted.mesh
    m = mesh.maps
    pos = m.position.reshape(-1, 3)[flat]
    nrm = m.normal.reshape(-1, 3)[flat]
    ao = m.ao.reshape(-1)[flat]
    albedo = painted.albedo[flat].astype(np.float32)
    vis = soft_visibility(
        mesh.visibility.reshape(-1, mesh.visibility.shape[-1])[flat], light_directions(), lighting.key_dir
    )
    radiance = light_texels(albedo, nrm, ao, vis, oiliness(pos, rng), lighting)
    lit = expose(radiance, lighting, radiance[:reference])
    return albedo, lit


def sample(people: list[PaintedMesh], seed: int, crop: int = 128) -> Sample:
    """The training crop of ``seed`` (person, light, crop position and orientation all drawn from it)."""
    rng = np.random.default_rng(seed)
    painted = people[int(rng.integers(len(people)))]
    mesh = painted.mesh
    m = mesh.maps
    size = m.size
    covered_flat = np.flatnonzero(m.covered.reshape(-1))
    fit_idx = rng.choice(covered_flat, min(FIT_TEXELS, len(covered_flat)), replace=False)
    for _ in range(50):
        y, x = (int(v) for v in rng.integers(0, size - crop, size=2))
        window = m.covered[y : y + crop, x : x + crop]
        if window.mean() >= MIN_CROP_COVERAGE:
            break
    crop_flat = ((np.arange(y, y + crop)[:, None] * size) + np.arange(x, x + crop)[None, :]).reshape(-1)
    crop_flat = crop_flat[window.reshape(-1)]
    lighting = random_lighting(rng)
    idx = np.concatenate([fit_idx, crop_flat])
    albedo, lit = _light(painted, idx, lighting, rng, len(fit_idx))
    nf = len(fit_idx)
    nrm = m.normal.reshape(-1, 3)[idx]
    ao = m.ao.reshape(-1)[idx]
    cav = m.cavity.reshape(-1)[idx]
    summary = FitSummary(fit_shading(lit[:nf], nrm[:nf], ao[:nf], seed=seed), lit[:nf].mean(axis=0))
    feats, log_fit = texel_features(lit[nf:], nrm[nf:], ao[nf:], cav[nf:], summary)
    ratio = lit / np.maximum(albedo, 1e-4)
    log_truth = np.log(np.maximum(ratio[nf:], 1e-4)) - np.log(ratio[:nf].mean(axis=0))[None, :]
    features = np.zeros((crop * crop, FEATURES), np.float32)
    target = np.zeros((crop * crop, 3), np.float32)
    inside = window.reshape(-1)
    features[inside] = feats
    target[inside] = log_truth - log_fit
    f = features.reshape(crop, crop, FEATURES).transpose(2, 0, 1)
    t = target.reshape(crop, crop, 3).transpose(2, 0, 1)
    w = window.astype(np.float32)
    turns = int(rng.integers(4))
    f, t, w = (np.rot90(a, turns, axes=(-2, -1)) for a in (f, t, w))
    if rng.integers(2):
        f, t, w = (a[..., ::-1] for a in (f, t, w))
    return Sample(np.ascontiguousarray(f), np.ascontiguousarray(t), np.ascontiguousarray(w))


def capture(mesh: TrainingMesh, seed: int, albedo: NDArray[np.float32] | None = None) -> Capture:
    """The whole map of ``mesh`` lit by the light of ``seed``, on the procedural skin of ``seed`` or on a given
    ``albedo (s, s, 3)`` linear texture (evaluation on real textures)."""
    rng = np.random.default_rng(seed)
    m = mesh.maps
    flat = np.flatnonzero(m.covered.reshape(-1))
    skin = random_skin_params(rng)
    lighting = random_lighting(rng)
    pos = m.position.reshape(-1, 3)[flat]
    if albedo is None:
        alb = skin_albedo(pos, skin, _face(mesh), texel_size=mesh.texel_size)
    else:
        alb = np.asarray(albedo, np.float32).reshape(-1, 3)[flat]
    vis = soft_visibility(
        mesh.visibility.reshape(-1, mesh.visibility.shape[-1])[flat], light_directions(), lighting.key_dir
    )
    radiance = light_texels(
        alb, m.normal.reshape(-1, 3)[flat], m.ao.reshape(-1)[flat], vis, oiliness(pos, rng), lighting
    )
    lit = expose(radiance, lighting, radiance)
    out_a = np.zeros((m.size * m.size, 3), np.float32)
    out_l = np.zeros((m.size * m.size, 3), np.float32)
    out_a[flat] = alb
    out_l[flat] = lit
    return Capture(out_a.reshape(m.size, m.size, 3), out_l.reshape(m.size, m.size, 3))


__all__ = ["FIT_TEXELS", "Capture", "PaintedMesh", "Sample", "capture", "oiliness", "paint", "sample"]
