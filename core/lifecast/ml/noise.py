"""Vectorised, seeded 3D noise for procedural textures, evaluated point-wise at surface positions.

Everything here is a pure function of ``(position, seed)``: any subset of points can be evaluated, in any
order or chunking, and gives the same values, and since positions are 3D a texture built from these functions
is continuous across UV seams. No Python loop runs per point.

* :func:`value_noise`: hash-based value noise on the integer lattice, quintic interpolation (C2).
* :func:`fbm`: octaves of value noise, each on its own randomly rotated lattice (hides the axis grid), with
  octaves finer than about two texels faded out (:func:`band_weight`), so a texture sampled at a given texel
  size does not alias.
* :func:`ridge_lines`: thin meandering lines along the zero set of a noise field (veins, skin furrows).
* :func:`spots`: sparse round dots, at most one per lattice cell (pores, freckles, hair follicles).

The hash is Chris Wellons' ``lowbias32`` integer mixer applied to a linear combination of the lattice
coordinates with large odd constants, in wrapping ``uint32`` arithmetic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

#: Odd multipliers that combine the three lattice coordinates before mixing.
_PX, _PY, _PZ = 0x8DA6B343, 0xD8163841, 0xCB1AB31F
_MASK32 = 0xFFFFFFFF
#: Lattice offsets of the 8 cell corners, in the order x fastest, then y, then z.
_CORNERS = np.array(
    [(dx * _PX + dy * _PY + dz * _PZ) & _MASK32 for dz in (0, 1) for dy in (0, 1) for dx in (0, 1)], np.uint32
)
#: Per axis, the integer offset of each of those corners, ``(3, 8) float32``.
_OFFSETS = np.array([[(j >> axis) & 1 for j in range(8)] for axis in range(3)], np.float32)


def hash_int(x: int) -> int:
    """The ``lowbias32`` mixer on one Python integer (seeds, layer ids).

    Parameters
    ----------
    x
        Any integer; only its low 32 bits are used.

    Returns
    -------
    int
        A well-mixed value in ``[0, 2**32)``.
    """
    x &= _MASK32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _MASK32
    x ^= x >> 15
    x = (x * 0x846CA68B) & _MASK32
    x ^= x >> 16
    return x


def _mix(h: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """``lowbias32`` on an array of ``uint32``, in place (and returned)."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x7FEB352D)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x846CA68B)
    h ^= h >> np.uint32(16)
    return h


def _lattice(p: NDArray[np.float32], seed: int) -> tuple[NDArray[np.uint32], NDArray[np.float32]]:
    """Hash of the lattice cell each point is in (before mixing) and the position inside the cell.

    Parameters
    ----------
    p
        ``(q, 3) float32`` positions in lattice units.
    seed
        Layer seed.

    Returns
    -------
    base
        ``(q,) uint32`` linear combination of the cell's integer coordinates and the seed (mix it before use).
    frac
        ``(q, 3) float32`` position inside the cell, in ``[0, 1)``.
    """
    cell = np.floor(p)
    frac = p - cell
    ci = cell.astype(np.int32).view(np.uint32)
    base = ci[:, 0] * np.uint32(_PX)
    base += ci[:, 1] * np.uint32(_PY)
    base += ci[:, 2] * np.uint32(_PZ)
    base += np.uint32(hash_int(seed))
    return base, frac


def _bits(h: NDArray[np.uint32], shift: int, count: int) -> NDArray[np.float32]:
    """Bits ``shift`` to ``shift + count`` of a hash as float integers in ``[0, 2**count)``."""
    return ((h >> np.uint32(shift)) & np.uint32((1 << count) - 1)).view(np.int32).astype(np.float32)


def value_noise(p: NDArray[np.float32], seed: int) -> NDArray[np.float32]:
    """Value noise on the unit lattice: random values at integer points, quintic-interpolated in between.

    Parameters
    ----------
    p
        ``(q, 3) float32`` positions in lattice units (one cell is about one feature).
    seed
        Any integer; different seeds give independent fields.

    Returns
    -------
    NDArray[np.float32]
        ``(q,)`` values in ``[-1, 1]``, mean 0 (standard deviation about 0.4), C2-continuous in ``p``.
    """
    return value_noise_fields(p, seed, 1)[0]


def value_noise_fields(p: NDArray[np.float32], seed: int, fields: int) -> NDArray[np.float32]:
    """Up to four independent value-noise fields on one lattice, for the price of one hash per corner.

    One field takes the whole 32-bit corner hash; two take 16 bits each, three or four 8 bits each, so their
    corner values are quantised to 256 levels (fine for masks, which is what they are for).

    Parameters
    ----------
    p
        ``(q, 3) float32`` positions in lattice units.
    seed
        Any integer.
    fields
        Number of fields, 1 to 4.

    Returns
    -------
    NDArray[np.float32]
        ``(fields, q)`` values in ``[-1, 1]``, mean about 0, C2-continuous in ``p``.
    """
    if not 1 <= fields <= 4:
        raise ValueError(f"fields must be 1 to 4, got {fields}")
    base, f = _lattice(np.asarray(p, np.float32), seed)
    k = len(f)
    # Corner-major (8, k) so that every step below works on contiguous rows; little-endian bytes everywhere.
    h = _mix(base[None, :] + _CORNERS[:, None]).astype("<u4", copy=False)
    if fields == 1:
        v = h.view(np.int32).astype(np.float32)[None]
        scale = np.float32(2.0**-31)
    elif fields == 2:
        v = np.ascontiguousarray(h.view(np.int16).reshape(8, k, 2).transpose(2, 0, 1), dtype=np.float32)
        scale = np.float32(2.0**-15)
    else:
        v = np.ascontiguousarray(h.view(np.int8).reshape(8, k, 4)[:, :, :fields].transpose(2, 0, 1), np.float32)
        scale = np.float32(2.0**-7)
    ft = np.ascontiguousarray(f.T)
    u = ft * ft * ft * (ft * (ft * np.float32(6.0) - np.float32(15.0)) + np.float32(10.0))
    # v is (fields, 8, k) with corners ordered x fastest: lerp along x, then y, then z.
    vx = v[:, 0::2] + (v[:, 1::2] - v[:, 0::2]) * u[0]
    vy = vx[:, 0::2] + (vx[:, 1::2] - vx[:, 0::2]) * u[1]
    out = vy[:, 0] + (vy[:, 1] - vy[:, 0]) * u[2]
    out *= scale
    return out


def band_weight(wavelength: float, texel_size: float) -> float:
    """How much of a feature of this wavelength a texture sampled at ``texel_size`` may keep.

    1 for wavelengths of 4 texels or more, 0 at 2 texels (the Nyquist limit) or less, smooth in between.

    Parameters
    ----------
    wavelength
        The feature's wavelength (a noise lattice cell, twice a dot's diameter), metres.
    texel_size
        Surface length of one texel, metres; 0 keeps everything.

    Returns
    -------
    float
        Weight in ``[0, 1]``.
    """
    if texel_size <= 0.0:
        return 1.0
    t = min(max(wavelength / texel_size / 2.0 - 1.0, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


@lru_cache(maxsize=256)
def rotation(seed: int, layer: int) -> NDArray[np.float32]:
    """A random rotation, fixed by ``(seed, layer)``, that hides the lattice axes of one noise layer.

    Parameters
    ----------
    seed, layer
        Integers that pick the rotation.

    Returns
    -------
    NDArray[np.float32]
        ``(3, 3)`` orthonormal matrix (read-only, cached).
    """
    rng = np.random.default_rng([seed & _MASK32, layer & _MASK32, 0x5EED])
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    out = q.astype(np.float32)
    out.flags.writeable = False
    return out


def fbm(
    p: NDArray[np.float32],
    seed: int,
    *,
    wavelength: float,
    octaves: int,
    gain: float = 0.5,
    lacunarity: float = 2.0,
    texel_size: float = 0.0,
) -> NDArray[np.float32]:
    """Fractal sum of value-noise octaves, band-limited to the texel size.

    Octave ``k`` has cell size ``wavelength / lacunarity**k`` and amplitude ``gain**k``; each uses its own
    rotated lattice. Octaves finer than about two texels are faded out (:func:`band_weight`) and skipped
    when fully faded. The sum is divided by the total amplitude of *all* octaves, so fading removes energy.

    Parameters
    ----------
    p
        ``(q, 3) float32`` positions, metres.
    seed
        Field seed.
    wavelength
        Cell size of the coarsest octave, metres.
    octaves
        Number of octaves.
    gain, lacunarity
        Amplitude and frequency ratio between successive octaves.
    texel_size
        Surface length of one texel, metres (0: no band-limiting).

    Returns
    -------
    NDArray[np.float32]
        ``(q,)`` values in ``[-1, 1]``, mean 0.
    """
    return fbm_fields(
        p, seed, 1, wavelength=wavelength, octaves=octaves, gain=gain, lacunarity=lacunarity, texel_size=texel_size
    )[0]


def fbm_fields(
    p: NDArray[np.float32],
    seed: int,
    fields: int,
    *,
    wavelength: float,
    octaves: int,
    gain: float = 0.5,
    lacunarity: float = 2.0,
    texel_size: float = 0.0,
) -> NDArray[np.float32]:
    """:func:`fbm` of up to four independent fields at once (:func:`value_noise_fields`).

    Parameters
    ----------
    p, seed, wavelength, octaves, gain, lacunarity, texel_size
        As :func:`fbm`.
    fields
        Number of fields, 1 to 4.

    Returns
    -------
    NDArray[np.float32]
        ``(fields, q)`` values in ``[-1, 1]``, mean 0.
    """
    p = np.asarray(p, np.float32)
    out = np.zeros((fields, len(p)), np.float32)
    total = 0.0
    for k in range(octaves):
        amp = gain**k
        total += amp
        cell = wavelength / lacunarity**k
        w = band_weight(cell, texel_size)
        if w <= 0.0:
            continue
        m = rotation(seed, k) * np.float32(1.0 / cell)
        out += np.float32(amp * w) * value_noise_fields(p @ m, seed * 7919 + k, fields)
    out *= np.float32(1.0 / total)
    return out


@lru_cache(maxsize=1)
def zero_density() -> float:
    """Probability density of :func:`value_noise` at 0 (sampled once), for the mean of :func:`ridge_lines`.

    Returns
    -------
    float
        ``d P(noise < x) / dx`` at ``x = 0``.
    """
    rng = np.random.default_rng(12345)
    v = value_noise(rng.uniform(-1000.0, 1000.0, size=(1 << 16, 3)).astype(np.float32), 12345)
    return float(np.mean(np.abs(v) < 0.02) / 0.04)


def ridge_lines(
    p: NDArray[np.float32],
    seed: int,
    *,
    wavelength: float,
    width: float,
    texel_size: float = 0.0,
    warp: float = 0.0,
) -> NDArray[np.float32]:
    """Thin meandering lines along the zero set of one value-noise field, a network of curves.

    The line profile is ``max(0, 1 - |n| / w)``. Band-limiting keeps the lines' mean coverage: a line
    thinner than about two texels is widened and dimmed in proportion, and when the field itself is too fine
    for the texel size the result fades to its mean.

    Parameters
    ----------
    p
        ``(q, 3) float32`` positions, metres.
    seed
        Field seed.
    wavelength
        Cell size of the field, metres (about the spacing of the lines).
    width
        Line half-width as a fraction of ``wavelength`` (e.g. 0.03).
    texel_size
        Surface length of one texel, metres (0: no band-limiting).
    warp
        Strength of a second, coarser noise octave added before taking the zero set (more meander), 0 to 1.

    Returns
    -------
    NDArray[np.float32]
        ``(q,)`` line intensity in ``[0, 1]``.
    """
    p = np.asarray(p, np.float32)
    # |grad n| of value noise is about 2.5 per cell, so a noise half-width w is about w / 2.5 cells on the surface.
    min_w = 2.5 * texel_size / wavelength
    mean = zero_density() * width
    fade = band_weight(wavelength, texel_size)
    if fade <= 0.0:
        return np.full(len(p), mean, np.float32)
    w_eff = max(width, min_w)
    n = value_noise(p @ (rotation(seed, 101) * np.float32(1.0 / wavelength)), seed * 31 + 1)
    if warp > 0.0 and band_weight(2.0 * wavelength, texel_size) > 0.0:
        n += np.float32(warp) * value_noise(p @ (rotation(seed, 102) * np.float32(0.5 / wavelength)), seed * 31 + 2)
    line = np.maximum(np.float32(1.0) - np.abs(n) * np.float32(1.0 / w_eff), np.float32(0.0))
    line *= np.float32(fade * width / w_eff)
    if fade < 1.0:
        line += np.float32((1.0 - fade) * mean)
    return line


def dot_profile(t: NDArray[np.float32], softness: float) -> NDArray[np.float32]:
    """Radial profile of a dot: 1 in the core, a smooth step down to 0 over the outer ``softness`` of the radius.

    Parameters
    ----------
    t
        ``(q,)`` distance from the centre over the radius.
    softness
        Fraction of the radius the fade takes, in ``(0, 1]`` (1: fades from the centre).

    Returns
    -------
    NDArray[np.float32]
        ``(q,)`` values in ``[0, 1]``, 0 for ``t >= 1``.
    """
    if not 0.0 < softness <= 1.0:
        raise ValueError(f"softness must be in (0, 1], got {softness}")
    x = np.clip((np.float32(1.0) - t) * np.float32(1.0 / softness), 0.0, 1.0)
    return (x * x * (np.float32(3.0) - np.float32(2.0) * x)).astype(np.float32, copy=False)


@lru_cache(maxsize=16)
def _profile_ball_mean(softness: float) -> float:
    """Mean of :func:`dot_profile` over a unit ball (``3 * integral of profile(t) t^2 dt``)."""
    t = (np.arange(4096, dtype=np.float64) + 0.5) / 4096
    return float(np.mean(3.0 * dot_profile(t.astype(np.float32), softness) * t * t))


def spots(
    p: NDArray[np.float32],
    seed: int,
    *,
    cell: float,
    radius: tuple[float, float],
    probability: float | NDArray[np.float32],
    texel_size: float = 0.0,
    intensity_jitter: float = 0.0,
    softness: float = 0.6,
) -> NDArray[np.float32]:
    """Sparse round dots: each lattice cell holds, with probability ``probability``, one ball anywhere in it.

    A point can only be reached by balls of the 2x2x2 cells around its nearest lattice corner (radii are at
    most half a cell), so 8 hashes per point give the exact field, the maximum over those balls; it is
    continuous. Seen on a surface, which slices the balls at random heights, the dots vary in size.
    ``probability`` may vary in space: a ball fades in over a small probability range instead of popping,
    which keeps the field continuous. Dots smaller than about two texels fade to their mean coverage.

    Parameters
    ----------
    p
        ``(q, 3) float32`` positions, metres.
    seed
        Field seed.
    cell
        Lattice cell size, metres.
    radius
        ``(min, max)`` ball radius as a fraction of ``cell``, ``0 < min <= max <= 0.5``.
    probability
        Chance that a cell has a ball: a scalar or ``(q,)`` per point, in ``[0, 1]``.
    texel_size
        Surface length of one texel, metres (0: no band-limiting).
    intensity_jitter
        Each ball's peak is ``1 - intensity_jitter * u`` with ``u`` uniform in ``[0, 1)``.
    softness
        Fraction of the radius over which a ball fades out (:func:`dot_profile`), in ``(0, 1]``.

    Returns
    -------
    NDArray[np.float32]
        ``(q,)`` dot intensity in ``[0, 1]``.
    """
    r0, r1 = radius
    if not 0.0 < r0 <= r1 <= 0.5:
        raise ValueError(f"spot radius must satisfy 0 < min <= max <= 0.5, got {radius}")
    p = np.asarray(p, np.float32)
    prob = np.clip(np.asarray(probability, np.float32), 0.0, 1.0)
    # Mean over a random slice (ignoring overlaps): probability * ball volume * mean of the profile over a ball.
    mean_r3 = (r1**4 - r0**4) / (4.0 * (r1 - r0)) if r1 > r0 else r0**3
    mean = (4.0 * np.pi / 3.0) * _profile_ball_mean(softness) * mean_r3 * (1.0 - 0.5 * intensity_jitter)
    fade = band_weight(4.0 * (r0 + r1) / 2.0 * cell, texel_size)
    if fade <= 0.0:
        return np.broadcast_to(prob * np.float32(mean), (len(p),)).astype(np.float32)
    # Cells c0 + {0, 1}^3 with c0 = floor(p - 1/2); the point sits at f + 1/2 - offset in each of them.
    base, f = _lattice(p @ (rotation(seed, 201) * np.float32(1.0 / cell)) - np.float32(0.5), seed * 131 + 7)
    f += np.float32(0.5)
    # The corner hash's bytes (little-endian on every platform): centre x, y, z and presence, 8 bits each.
    # Corner-major (8, k) so that every step works on contiguous rows.
    h = _mix(base[None, :] + _CORNERS[:, None]).astype("<u4", copy=False)
    byte = np.ascontiguousarray(h.view(np.uint8).reshape(8, len(p), 4).transpose(2, 0, 1))
    ft = np.ascontiguousarray(f.T)
    d2 = np.zeros(h.shape, np.float32)
    for axis in range(3):
        centre = byte[axis].astype(np.float32)
        centre *= np.float32(1.0 / 255.0)
        centre += _OFFSETS[axis][:, None] - ft[axis][None, :]
        d2 += centre * centre
    # Only the few (corner, point) pairs within the largest radius need the rest, and a second hash.
    cols, rows = np.nonzero(d2 < np.float32(r1 * r1))
    h2 = _mix(h[cols, rows] ^ np.uint32(0x9E3779B9))
    r = np.float32(r0) + np.float32((r1 - r0) / 65535.0) * _bits(h2, 0, 16)
    s = dot_profile(np.sqrt(d2[cols, rows]) / r, softness)
    # Fade each ball in over a probability window of 0.1 (mean presence equals the probability).
    pr = prob[rows] if prob.ndim else prob
    u = byte[3, cols, rows].astype(np.float32) * np.float32(1.0 / 256.0) + np.float32(0.5 / 256.0)
    s *= np.clip((pr - u) * np.float32(10.0) + np.float32(0.5), 0.0, 1.0)
    if intensity_jitter > 0.0:
        s *= np.float32(1.0) - np.float32(intensity_jitter / 65536.0) * _bits(h2, 16, 16)
    out = np.zeros(len(p), np.float32)
    np.maximum.at(out, rows, s)
    if fade < 1.0:
        out = np.float32(fade) * out + np.float32(1.0 - fade) * prob * np.float32(mean)
    return out.astype(np.float32, copy=False)
