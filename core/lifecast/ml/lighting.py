"""Lighting skin in UV space, for the delight model's training data.

A capture's light on each texel, evaluated point-wise from the geometry maps (:mod:`lifecast.ml.geometry_maps`):

- an environment: a sky/ground gradient about a random up direction plus a random low-order SH term, times
  ambient occlusion;
- a key light from one of :func:`light_directions`, shadowed by the mesh itself (a visibility table ray-cast once
  per mesh, softened over neighbouring directions), with per-channel wrap lighting for the reddish terminator of
  light scattered under the skin;
- a fill light, unshadowed, occluded by AO;
- a specular lobe of the key light (Blinn-Phong with varying roughness, times an oiliness field and Schlick's
  Fresnel at a skin IOR of 1.4), white, not tinted by the albedo;
- a per-capture exposure and white balance, then 8-bit sRGB quantisation with clipping (what a texture holds).

The values are relative: the renderer's units are the albedo's, an exposure brings the texture's mean to a grey.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb, srgb_to_linear
from lifecast.ml.sh import sh_basis

#: Key-light directions the visibility tables are ray-cast for.
LIGHT_DIRECTIONS = 64
#: Nearest table directions a soft key shadow averages.
_SOFT_SHADOW_TAPS = 4
#: Schlick's F0 of skin (IOR 1.4): ((1.4 - 1) / (1.4 + 1))².
_F0 = 0.0278


def light_directions(count: int = LIGHT_DIRECTIONS) -> NDArray[np.float32]:
    """``(count, 3) float32`` unit directions spread evenly over the sphere (a Fibonacci lattice)."""
    i = np.arange(count, dtype=np.float64) + 0.5
    z = 1.0 - 2.0 * i / count
    r = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = i * np.pi * (3.0 - np.sqrt(5.0))
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1).astype(np.float32)


@dataclass(frozen=True)
class Lighting:
    """One capture's light (see the module docstring). Directions are unit ``(3,)``, colours linear ``(3,)``."""

    up: NDArray[np.float32]
    sky: NDArray[np.float32]
    ground: NDArray[np.float32]
    env_sh: NDArray[np.float32]  # (9, 3) extra irradiance SH
    key_dir: NDArray[np.float32]
    key_rgb: NDArray[np.float32]
    fill_dir: NDArray[np.float32]
    fill_rgb: NDArray[np.float32]
    view_dir: NDArray[np.float32]
    wrap: NDArray[np.float32]  # (3,) wrap-lighting amount per channel
    shininess: float
    specular: float
    exposure_stops: float
    white_balance: NDArray[np.float32]


def _unit(v: NDArray[np.float64]) -> NDArray[np.float32]:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _tint(rng: np.random.Generator, spread: float) -> NDArray[np.float32]:
    """A light colour near white: a warm/cool temperature shift plus a little green/magenta."""
    t = rng.uniform(-spread, spread)
    g = rng.uniform(-0.3 * spread, 0.3 * spread)
    rgb = np.array([1.0 + t, 1.0 + g, 1.0 - t], np.float64)
    return (rgb / rgb.mean()).astype(np.float32)


def random_lighting(rng: np.random.Generator) -> Lighting:
    """A random capture: anything from a flat, even light box to a hard key with deep shadows and shine."""
    up = _unit(rng.normal(size=3))
    hardness = rng.uniform(0.0, 1.0)
    ambient = rng.uniform(0.25, 1.0) * (1.0 - 0.6 * hardness)
    sky = ambient * _tint(rng, 0.15) * rng.uniform(0.8, 1.3)
    ground = ambient * _tint(rng, 0.15) * rng.uniform(0.2, 0.9)
    env_sh = (rng.normal(size=(9, 1)) * np.array([0, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5])[:, None]).astype(np.float32)
    env_sh = env_sh * np.float32(0.15 * ambient) * np.ones((1, 3), np.float32)
    key_dir = _unit(rng.normal(size=3) + 0.8 * up)
    key_rgb = _tint(rng, 0.25) * np.float32(rng.uniform(0.2, 2.2) * (0.3 + hardness))
    fill_dir = _unit(rng.normal(size=3))
    fill_rgb = _tint(rng, 0.2) * np.float32(rng.uniform(0.0, 0.5))
    view_dir = _unit(rng.normal(size=3) + 1.5 * key_dir)
    wrap = np.array([rng.uniform(0.15, 0.35), rng.uniform(0.05, 0.15), rng.uniform(0.02, 0.1)], np.float32)
    roughness = rng.uniform(0.25, 0.7)
    return Lighting(
        up=up,
        sky=sky.astype(np.float32),
        ground=ground.astype(np.float32),
        env_sh=env_sh,
        key_dir=key_dir,
        key_rgb=key_rgb.astype(np.float32),
        fill_dir=fill_dir,
        fill_rgb=fill_rgb.astype(np.float32),
        view_dir=view_dir,
        wrap=wrap,
        shininess=float(2.0 / roughness**2 - 2.0),
        specular=float(rng.uniform(0.0, 1.0) ** 2 * 6.0),
        exposure_stops=float(rng.uniform(-0.6, 1.0)),
        white_balance=_tint(rng, 0.12),
    )


def soft_visibility(
    visibility: NDArray[np.uint8], directions: NDArray[np.float32], light: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``(q,) float32`` how much of a light from ``light (3,)`` reaches each texel, averaged over the nearest
    table directions, weighted by closeness.

    ``visibility (q, k)`` holds 1 where the texel sees table direction ``k`` of ``directions (k, 3)``.
    """
    cos = directions @ light
    taps = np.argsort(-cos)[:_SOFT_SHADOW_TAPS]
    w = np.maximum(cos[taps], 0.0) ** 8
    w = w / max(float(w.sum()), 1e-12)
    return (visibility[:, taps].astype(np.float32) @ w.astype(np.float32)).astype(np.float32)


def light_texels(
    albedo: NDArray[np.float32],
    normal: NDArray[np.float32],
    ao: NDArray[np.float32],
    key_visibility: NDArray[np.float32],
    oiliness: NDArray[np.float32],
    lighting: Lighting,
) -> NDArray[np.float32]:
    """``(q, 3) float32`` linear light leaving each texel (before exposure and white balance).

    Parameters
    ----------
    albedo
        ``(q, 3)`` linear albedo.
    normal
        ``(q, 3)`` unit normals.
    ao
        ``(q,)`` ambient occlusion.
    key_visibility
        ``(q,)`` the key light's visibility (:func:`soft_visibility`).
    oiliness
        ``(q,)`` specular strength multiplier (an oily T-zone shines more).
    lighting
        The capture's light.
    """
    n = normal
    up = n @ lighting.up
    env = lighting.ground[None, :] + (lighting.sky - lighting.ground)[None, :] * (0.5 + 0.5 * up)[:, None]
    env = np.maximum(env + sh_basis(n) @ lighting.env_sh, 0.0)
    diffuse = env * ao[:, None]
    ndl = n @ lighting.key_dir
    wrapped = np.maximum((ndl[:, None] + lighting.wrap[None, :]) / (1.0 + lighting.wrap[None, :]), 0.0)
    diffuse += wrapped * key_visibility[:, None] * lighting.key_rgb[None, :]
    fill = np.maximum(n @ lighting.fill_dir, 0.0) * np.sqrt(ao)
    diffuse += fill[:, None] * lighting.fill_rgb[None, :]
    half = lighting.key_dir + lighting.view_dir
    half = half / max(float(np.linalg.norm(half)), 1e-12)
    ndh = np.maximum(n @ half, 0.0)
    vdh = max(float(lighting.view_dir @ half), 0.0)
    fresnel = _F0 + (1.0 - _F0) * (1.0 - vdh) ** 5
    norm = (lighting.shininess + 8.0) / (8.0 * np.pi)
    lobe = norm * ndh**lighting.shininess * (ndl > 0) * key_visibility * oiliness
    spec = (lighting.specular * fresnel * lobe)[:, None] * lighting.key_rgb[None, :]
    return (albedo * diffuse + spec).astype(np.float32)


def expose(
    radiance: NDArray[np.float32], lighting: Lighting, reference: NDArray[np.float32], *, mean_grey: float = 0.18
) -> NDArray[np.float32]:
    """``(q, 3)`` the texture a camera records: ``radiance`` scaled so ``reference``'s mean luminance is
    ``mean_grey`` times the capture's exposure, white-balanced, quantised to 8-bit sRGB with clipping and decoded
    back to linear."""
    lum = float((reference @ np.array([0.2126, 0.7152, 0.0722], np.float32)).mean())
    gain = mean_grey * 2.0**lighting.exposure_stops / max(lum, 1e-6)
    linear = np.clip(radiance * np.float32(gain) * lighting.white_balance[None, :], 0.0, 1.0)
    codes = np.round(linear_to_srgb(linear) * 255.0) / 255.0
    return srgb_to_linear(codes.astype(np.float32))


__all__ = [
    "LIGHT_DIRECTIONS",
    "Lighting",
    "expose",
    "light_directions",
    "light_texels",
    "random_lighting",
    "soft_visibility",
]
