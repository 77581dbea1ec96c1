"""Procedural human skin albedo, evaluated point-wise at 3D surface positions (training data for the texture models).

:func:`skin_albedo` maps ``(q, 3)`` surface positions (metres) to linear Rec.709 albedo. It is a pure function of
``(position, params, face, texel_size)``, so any subset of the texels of a UV map can be evaluated (a random crop,
a few thousand random texels) and the texture is continuous across UV seams by construction. All detail comes
from the seeded 3D noise in :mod:`lifecast.ml.noise`, band-limited to ``texel_size``.

Layers, coarse to fine:

* base tone from two chromophores, epidermal melanin and dermal hemoglobin (:func:`chromophore_albedo`), with
  low-frequency blotches in both, and redness on the cheeks and nose when a :class:`FaceFrame` is given;
* freckles (extra melanin in sparse spots, clustered; some people only) and faint bluish veins (thin meandering
  lines, fading with melanin);
* fine lines (the skin's furrow network and short directional wrinkles) and pores (small dark dots);
* with a face frame: lips (more blood, a darker mouth line), slightly darker skin under the eyes, eyebrows (a
  darker streaky band) and stubble (blue-grey shadow plus follicle dots on jaw, chin, upper lip and lower cheeks;
  some people only).

Speed: about a million points a second on one CPU core (numpy, chunks of 65536 points).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lifecast.ml.noise import band_weight, fbm_fields, hash_int, ridge_lines, rotation, spots, value_noise

#: Albedo bounds of the output (linear).
ALBEDO_MIN = 0.005
ALBEDO_MAX = 0.9

#: Size of the large albedo patches (:attr:`SkinParams.patch_strength`), metres.
PATCH_WAVELENGTH = 0.08

#: Points per chunk: keeps every temporary in cache.
_CHUNK = 65536

# Two-chromophore model, per linear Rec.709 channel:
#     albedo = F + (B - F) * exp(-melanin**GAMMA * K_MEL * S_MEL - hemoglobin * K_HB * S_HB)
# B is bloodless, melanin-free skin (dermal scattering with a little carotene); F is what the upper epidermis
# scatters back before light meets the melanin layer, so very dark skin keeps some blue. The spectral shapes:
# eumelanin absorption ~ lambda^-3.33 (S. L. Jacques, "Optical properties of biological tissues: a review",
# Phys. Med. Biol. 58 (2013) R37) at effective channel wavelengths 610, 550 and 465 nm; hemoglobin (mostly oxy-)
# absorbs green most, blue well and red hardly at all (S. Prahl's tabulated molar extinction, Oregon Medical Laser
# Center). B, F, K_MEL, K_HB and GAMMA were then fitted by least squares so that melanin 0, 0.25, 0.5, 0.75, 1
# (hemoglobin 0.5) give CIELAB (D65) L* about 73, 61, 50, 39, 27 with a* 8-10 and b* 11-22 (lower at both ends):
# the range of measured constitutive skin colour, ITA from about +64 deg (very light) to -69 deg (dark), as in
# S. Del Bino and F. Bernerd, "Variations in skin colour and the biological consequences of ultraviolet radiation
# exposure", Br. J. Dermatol. 169 Suppl. 3 (2013) 33-40, and B. C. K. Ly et al., "Cutaneous colorimetry",
# J. Invest. Dermatol. 140 (2020) 3-12. Results (hemoglobin 0.5): melanin 0 -> (0.60, 0.41, 0.34) linear,
# melanin 0.5 -> (0.28, 0.16, 0.08), melanin 1 -> (0.084, 0.045, 0.035). More hemoglobin raises a* (redder).
_B = np.array([0.6082, 0.4874, 0.3862], np.float32)
_F = np.array([0.0, 0.0202, 0.0321], np.float32)
_S_MEL = (np.array([610.0, 550.0, 465.0], np.float32) / np.float32(610.0)) ** np.float32(-3.33)
_S_HB = np.array([0.08, 1.0, 0.75], np.float32)
_K_MEL = np.float32(1.963)
_K_HB = np.float32(0.3456)
_GAMMA = np.float32(1.3859)

#: Veins absorb the deep-reaching red most (why they look blue), per channel, at full strength.
_VEIN_ABSORPTION = np.array([0.16, 0.09, 0.02], np.float32)
#: What full stubble multiplies the skin by: blue-grey.
_STUBBLE_TINT = np.array([0.55, 0.58, 0.66], np.float32)
#: What full eyebrow hair multiplies the skin by: dark brown.
_BROW_TINT = np.array([0.30, 0.28, 0.28], np.float32)

# Feature seeds: each layer gets its own field.
(_L_TONE, _L_FINE, _L_MASKS, _L_FRECKLE, _L_VEIN, _L_FURROW, _L_WRINKLE, _L_PORE_A, _L_PORE_B, _L_FOLLICLE,
 _L_BROW, _L_PATCH) = range(1, 13)  # fmt: skip


@dataclass(frozen=True)
class SkinParams:
    """Everything that defines one person's skin (all strengths ``0`` = absent, ``1`` = strong).

    Attributes
    ----------
    seed
        Seeds every noise field.
    melanin
        Constitutive pigmentation: 0 very light (Fitzpatrick I) to 1 very dark (VI).
    hemoglobin
        Blood in the dermis, 0 to 1 (0.5 typical): more is redder.
    blotch
        Low-frequency tone variation (mottling in melanin and blood).
    redness
        Extra blood on the cheeks and nose (needs a :class:`FaceFrame`).
    pore_strength
        Darkness of pores.
    pore_size
        Pore lattice cell, metres, about the spacing of pores (4e-4 to 9e-4).
    wrinkle_strength
        Darkness of fine lines.
    freckle_strength
        Melanin added by a freckle (0: no freckles).
    freckle_density
        Fraction of freckle cells that hold a freckle where freckles cluster.
    freckle_size
        Largest freckle diameter, metres (1.5e-3 to 5e-3).
    vein_strength
        Visibility of veins (fades with melanin).
    stubble_strength
        Stubble shadow and follicles (needs a :class:`FaceFrame`; 0: clean-shaven or none).
    lip_strength
        Extra blood and darkening of the lips (needs a :class:`FaceFrame`).
    eyebrow_strength
        Darkening of the brow region (needs a :class:`FaceFrame`).
    beard_neck
        How far the stubble runs down the neck below the jaw: 0 to the jaw line, 1 about 4 cm further.
    patch_strength
        Melanin added (positive: tan, birthmark, make-up) or removed (negative) in a few large soft patches
        (:data:`PATCH_WAVELENGTH`), ``-1`` to ``1``; 0: none. Albedo the geometry does not explain, which a
        delighter must leave alone.
    """

    seed: int
    melanin: float
    hemoglobin: float = 0.5
    blotch: float = 0.5
    redness: float = 0.3
    pore_strength: float = 0.5
    pore_size: float = 6e-4
    wrinkle_strength: float = 0.5
    freckle_strength: float = 0.0
    freckle_density: float = 0.3
    freckle_size: float = 3e-3
    vein_strength: float = 0.3
    stubble_strength: float = 0.0
    lip_strength: float = 0.7
    eyebrow_strength: float = 0.5
    beard_neck: float = 0.0
    patch_strength: float = 0.0

    def __post_init__(self) -> None:
        unit = (
            "melanin",
            "hemoglobin",
            "blotch",
            "redness",
            "pore_strength",
            "wrinkle_strength",
            "freckle_strength",
            "freckle_density",
            "vein_strength",
            "stubble_strength",
            "lip_strength",
            "eyebrow_strength",
            "beard_neck",
        )
        for name in unit:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"SkinParams.{name} must be in [0, 1], got {value}")
        if not -1.0 <= self.patch_strength <= 1.0:
            raise ValueError(f"SkinParams.patch_strength must be in [-1, 1], got {self.patch_strength}")
        for name in ("pore_size", "freckle_size"):
            if not 0.0 < getattr(self, name) < 0.05:
                raise ValueError(f"SkinParams.{name} must be a positive length under 5 cm (metres)")


def random_skin_params(rng: np.random.Generator) -> SkinParams:
    """Draw one person's skin: tones roughly uniform from very light to very dark, features varied.

    Freckles are drawn for about half of light-skinned people and few dark-skinned ones; stubble for half of
    people; large albedo patches for a third. The last two's extents come from a generator seeded by the
    person's seed, so ``rng`` is drawn from exactly as often as before they existed (the captures' lights, drawn
    after the skin from the same ``rng``, stay the same).

    Parameters
    ----------
    rng
        Source of randomness (the only one used).

    Returns
    -------
    SkinParams
    """
    melanin = float(rng.uniform(0.0, 1.0))
    has_freckles = rng.uniform() < 0.6 * (1.0 - melanin) + 0.05
    has_stubble = rng.uniform() < 0.35
    seed = int(rng.integers(0, 2**31 - 1))
    extra = np.random.default_rng([seed, _L_PATCH])
    more_stubble = float(extra.uniform(0.3, 1.0)) if extra.uniform() < 0.25 else 0.0  # 0.35 + 0.65 * 0.25 = 0.51
    beard_neck = float(extra.uniform(0.0, 1.0))
    patch = float(extra.uniform(0.3, 1.0) * extra.choice([-0.6, 1.0])) if extra.uniform() < 0.35 else 0.0
    return SkinParams(
        seed=seed,
        melanin=melanin,
        hemoglobin=float(rng.uniform(0.2, 0.9)),
        blotch=float(rng.uniform(0.2, 1.0)),
        redness=float(rng.uniform(0.0, 1.0) ** 1.5),
        pore_strength=float(rng.uniform(0.2, 1.0)),
        pore_size=float(rng.uniform(4.5e-4, 9e-4)),
        wrinkle_strength=float(rng.uniform(0.15, 1.0)),
        freckle_strength=float(rng.uniform(0.3, 1.0)) if has_freckles else 0.0,
        freckle_density=float(rng.uniform(0.15, 0.8)),
        freckle_size=float(rng.uniform(1.5e-3, 5e-3)),
        vein_strength=float(rng.uniform(0.0, 1.0)),
        stubble_strength=float(rng.uniform(0.3, 1.0)) if has_stubble else more_stubble,
        lip_strength=float(rng.uniform(0.4, 1.0)),
        eyebrow_strength=float(rng.uniform(0.2, 1.0)),
        beard_neck=beard_neck,
        patch_strength=patch,
    )


@dataclass(frozen=True)
class FaceFrame:
    """Where the face features are, in the mesh's own frame (metres).

    Attributes
    ----------
    landmarks
        Name to ``(3,)`` position. Names used: ``upper_lip``, ``lower_lip``, ``mouth_corner_left``,
        ``mouth_corner_right``, ``chin``, ``nose_tip``, ``nasion``, ``eye_inner_left``, ``eye_inner_right``,
        ``eye_outer_left``, ``eye_outer_right``, ``ear_left``, ``ear_right``, ``head_top``. Any may be missing;
        a feature whose landmarks are missing is left out (typical adult proportions fill small gaps).
    """

    landmarks: dict[str, NDArray[np.floating]] = field(default_factory=dict)


def chromophore_albedo(melanin: NDArray[np.float32], hemoglobin: NDArray[np.float32]) -> NDArray[np.float32]:
    """Linear Rec.709 albedo of skin with these chromophore amounts (the model in this module's comments).

    Parameters
    ----------
    melanin
        ``(q,)`` melanin index, 0 (very light) to 1 (very dark); values a little outside are allowed.
    hemoglobin
        ``(q,)`` blood amount, 0 to 1 (0.5 typical); more is allowed (lips).

    Returns
    -------
    NDArray[np.float32]
        ``(q, 3)`` linear albedo.
    """
    m = np.maximum(np.asarray(melanin, np.float32), np.float32(0.0)) ** _GAMMA
    h = np.maximum(np.asarray(hemoglobin, np.float32), np.float32(0.0))
    optical = m[:, None] * (_K_MEL * _S_MEL) + h[:, None] * (_K_HB * _S_HB)
    return _F + (_B - _F) * np.exp(-optical)


def _smoothstep(edge0: float, edge1: float, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (either order), elementwise."""
    t = np.clip((x - np.float32(edge0)) * np.float32(1.0 / (edge1 - edge0)), 0.0, 1.0)
    return t * t * (np.float32(3.0) - np.float32(2.0) * t)


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64] | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else None


def _gauss(q: NDArray[np.float32], centre: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Isotropic Gaussian bump of width ``sigma`` (metres) at ``centre``; ``q`` is ``(k, 3)``."""
    d = q - centre
    return np.exp(np.sum(d * d, axis=1) * np.float32(-0.5 / (sigma * sigma))).astype(np.float32)


@dataclass(frozen=True)
class _Regions:
    """Face regions at one chunk of points, each ``(k,)`` float32 in ``[0, 1]`` (zeros where unknown)."""

    lips: NDArray[np.float32]
    mouth_line: NDArray[np.float32]
    flush: NDArray[np.float32]  # nose and cheeks: redness, freckles, larger pores
    under_eye: NDArray[np.float32]
    brows: NDArray[np.float32]
    beard: NDArray[np.float32]
    local: NDArray[np.float32] | None  # (k, 3) face-local coordinates

    @staticmethod
    def empty(k: int) -> _Regions:
        z = np.zeros(k, np.float32)
        return _Regions(z, z, z, z, z, z, None)


@dataclass(frozen=True)
class _Face:
    """A :class:`FaceFrame` resolved to an orthonormal basis, with each landmark in face-local coordinates.

    Local coordinates (metres): ``x`` across the face, ``y`` up (chin to nasion), ``z`` out of the face.
    """

    origin: NDArray[np.float32]
    basis: NDArray[np.float32]  # (3, 3): columns across, up, forward
    local: dict[str, NDArray[np.float32]]  # landmark name -> (3,) local coordinates

    @staticmethod
    def resolve(face: FaceFrame | None) -> _Face | None:
        """Build the basis from whichever landmark pairs exist; ``None`` when no basis can be found."""
        if face is None:
            return None
        lm = {k: np.asarray(v, np.float64).reshape(3) for k, v in face.landmarks.items()}
        across = up = None
        for a, b in (
            ("ear_left", "ear_right"),
            ("eye_outer_left", "eye_outer_right"),
            ("eye_inner_left", "eye_inner_right"),
            ("mouth_corner_left", "mouth_corner_right"),
        ):
            if a in lm and b in lm and (across := _unit(lm[b] - lm[a])) is not None:
                break
        for a, b in (("chin", "nasion"), ("chin", "head_top"), ("upper_lip", "nasion"), ("chin", "nose_tip")):
            if a in lm and b in lm and (up := _unit(lm[b] - lm[a])) is not None:
                break
        if across is None or up is None:
            return None
        across = _unit(across - float(across @ up) * up)
        if across is None:
            return None
        forward = np.cross(up, across)
        # Point "forward" out of the face: from the ears (or eyes) towards the nose, lips or chin.
        back = [lm[k] for k in ("ear_left", "ear_right") if k in lm] or [
            lm[k] for k in ("eye_outer_left", "eye_outer_right", "eye_inner_left", "eye_inner_right") if k in lm
        ]
        front = [lm[k] for k in ("nose_tip", "upper_lip", "chin") if k in lm]
        if back and front and float((front[0] - np.mean(back, axis=0)) @ forward) < 0:
            forward = -forward
        origin = np.mean(list(lm.values()), axis=0)
        basis = np.stack([across, up, forward], axis=1)
        local = {k: ((v - origin) @ basis).astype(np.float32) for k, v in lm.items()}
        return _Face(origin.astype(np.float32), basis.astype(np.float32), local)

    def regions(self, p: NDArray[np.float32], sp: SkinParams) -> _Regions:
        """All face regions at ``(k, 3)`` positions (stubble only when the person has some)."""
        q = np.asarray((p - self.origin) @ self.basis, np.float32)
        zero = np.zeros(len(p), np.float32)
        lips, line = self._lips(q) or (zero, zero)
        beard = self._beard(q, sp.beard_neck) if sp.stubble_strength > 0 else None
        flush = self._flush(q)
        return _Regions(
            lips=lips,
            mouth_line=line,
            flush=zero if flush is None else flush,
            under_eye=self._under_eye(q),
            brows=self._brows(q) if sp.eyebrow_strength > 0 else zero,
            beard=zero if beard is None else beard * (np.float32(1.0) - _smoothstep(0.0, 0.3, lips)),
            local=q,
        )

    def _get(self, *names: str) -> list[NDArray[np.float32]]:
        return [self.local[n] for n in names if n in self.local]

    def _mouth(self) -> tuple[float, float, float] | None:
        """Centre x, mouth line y and half-width of the mouth, from whichever mouth landmarks exist."""
        corners = self._get("mouth_corner_left", "mouth_corner_right")
        lips = self._get("upper_lip", "lower_lip")
        if len(corners) == 2:
            return (
                float(corners[0][0] + corners[1][0]) / 2,
                float(corners[0][1] + corners[1][1]) / 2,
                float(abs(corners[1][0] - corners[0][0])) / 2,
            )
        if lips:
            return float(np.mean([v[0] for v in lips])), float(np.mean([v[1] for v in lips])), 0.025
        return None

    def _lips(self, q: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
        """Lip mask (soft vermilion border) and the mouth line between the lips."""
        upper, lower = self._get("upper_lip"), self._get("lower_lip")
        mouth = self._mouth()
        if not (upper or lower) or mouth is None:
            return None
        cx, mouth_y, half_w = mouth
        if upper and lower:
            top, bottom = float(upper[0][1]), float(lower[0][1])
        elif upper:
            top, bottom = float(upper[0][1]), mouth_y - 0.009
        else:
            top, bottom = mouth_y + 0.008, float(lower[0][1])
        z0 = float(np.mean([v[2] for v in upper + lower]))
        dx = (q[:, 0] - np.float32(cx)) * np.float32(1.0 / half_w)
        taper = np.maximum(np.float32(1.0) - np.float32(0.55) * dx * dx, np.float32(0.05))
        # Each lip is a half-ellipse from the mouth line to its own border, thinning towards the corners.
        dy = q[:, 1] - np.float32(mouth_y)
        half_h = np.where(dy > 0, np.float32(max(top - mouth_y, 0.003)), np.float32(max(mouth_y - bottom, 0.003)))
        dy = dy / (half_h * taper)
        e = dx * dx + dy * dy
        front = _smoothstep(z0 - 0.045, z0 - 0.03, q[:, 2])
        lips = (np.float32(1.0) - _smoothstep(0.82, 1.0, e)) * front
        line_y = (q[:, 1] - np.float32(mouth_y)) * np.float32(1.0 / 0.0012)
        line = np.exp(-line_y * line_y) * (np.float32(1.0) - _smoothstep(0.85, 1.05, dx * dx)) * front
        return lips.astype(np.float32), line.astype(np.float32)

    def _eye_level(self) -> float | None:
        eyes = self._get("eye_outer_left", "eye_outer_right", "eye_inner_left", "eye_inner_right")
        return float(np.mean([v[1] for v in eyes])) if eyes else None

    def _beard(self, q: NDArray[np.float32], neck: float = 0.0) -> NDArray[np.float32] | None:
        """Beard area: upper lip, chin, jaw and lower cheeks, up to sideburns in front of the ears, and ``neck``
        (0 to 1) of up to 4 cm down the neck."""
        chin, nose, mouth = self._get("chin"), self._get("nose_tip"), self._mouth()
        if not chin or not nose or mouth is None:
            return None
        cx, mouth_y, half_w = mouth
        ears = self._get("ear_left", "ear_right")
        half_ears = float(abs(ears[1][0] - ears[0][0])) / 2 if len(ears) == 2 else 0.075
        z_ear = float(np.mean([v[2] for v in ears])) if ears else float(nose[0][2]) - 0.1
        eye_y = self._eye_level()
        eye_y = float(nose[0][1]) + 0.035 if eye_y is None else eye_y
        upper = self._get("upper_lip")
        lip_top = float(upper[0][1]) if upper else mouth_y + 0.008
        # Upper edge of the beard against |x|: moustache under the nose, down beside the mouth, then the cheek
        # line rising to a sideburn in front of the ear.
        moustache = 0.45 * float(nose[0][1]) + 0.55 * lip_top
        knots_x = [0.0, 0.8 * half_w, half_w + 0.012, 0.5 * (half_w + half_ears), half_ears]
        knots_y = [moustache, moustache - 0.002, mouth_y + 0.012, mouth_y + 0.026, eye_y - 0.01]
        ax = np.abs(q[:, 0] - np.float32(cx))
        top = np.interp(ax, knots_x, knots_y).astype(np.float32)
        below_top = _smoothstep(0.006, -0.006, q[:, 1] - top)
        low = float(chin[0][1]) - 0.04 * neck
        above_neck = _smoothstep(low - 0.065, low - 0.035, q[:, 1])
        in_front = _smoothstep(z_ear - 0.005, z_ear + 0.015, q[:, 2])
        inside = _smoothstep(1.05 * half_ears, 0.92 * half_ears, ax)
        return (below_top * above_neck * in_front * inside).astype(np.float32)

    def _flush(self, q: NDArray[np.float32]) -> NDArray[np.float32] | None:
        """The nose and two cheek patches, where faces redden, freckle and have larger pores."""
        nose = self._get("nose_tip")
        if not nose:
            return None
        out = _gauss(q, nose[0] + np.array([0, 0.006, -0.008], np.float32), 0.016)
        mouth = self._mouth()
        for side in ("left", "right"):
            eye = self._get(f"eye_outer_{side}")
            if not eye:
                continue
            below_y = mouth[1] if mouth is not None else float(eye[0][1]) - 0.06
            cheek = np.array([eye[0][0] * 0.85, 0.55 * eye[0][1] + 0.45 * below_y, eye[0][2] + 0.012], np.float32)
            out = np.maximum(out, _gauss(q, cheek, 0.024))
        return out

    def _under_eye(self, q: NDArray[np.float32]) -> NDArray[np.float32]:
        """Slightly darker skin under each eye (``(k,)``; zeros without eye landmarks)."""
        out = np.zeros(len(q), np.float32)
        for side in ("left", "right"):
            eye = self._get(f"eye_inner_{side}", f"eye_outer_{side}")
            if eye:
                centre = np.mean(eye, axis=0) + np.array([0.0, -0.011, 0.002], np.float32)
                d = (q - centre) * np.array([0.6, 1.6, 1.0], np.float32)
                out = np.maximum(out, np.exp(np.sum(d * d, axis=1) * np.float32(-0.5 / 0.009**2)))
        return out

    def _brows(self, q: NDArray[np.float32]) -> NDArray[np.float32]:
        """Eyebrows: arched bands above each eye, thick at the inner end, tapering outwards."""
        out = np.zeros(len(q), np.float32)
        for side in ("left", "right"):
            inner, outer = self._get(f"eye_inner_{side}"), self._get(f"eye_outer_{side}")
            if not inner or not outer:
                continue
            a, b = inner[0], outer[0]
            span = float(b[0] - a[0])
            if abs(span) < 1e-4:
                continue
            t = (q[:, 0] - a[0]) / np.float32(span)  # 0 at the inner eye corner, 1 at the outer
            # Centre line: 18 mm above the inner corner, arching to +24 mm at 60 % and back down at the tail.
            tc = np.clip(t, -0.2, 1.2)
            centre_y = np.float32(a[1] + 0.018) + np.float32(0.006) * np.sin(np.clip(tc + 0.2, 0, 1.4) * 2.0)
            half_h = np.float32(0.0042) - np.float32(0.0024) * np.clip(t, 0.0, 1.2)
            along = _smoothstep(-0.25, -0.12, t) * _smoothstep(1.2, 1.05, t)
            across = _smoothstep(1.0, 0.6, np.abs(q[:, 1] - centre_y) / half_h)
            near = _smoothstep(float(a[2]) - 0.03, float(a[2]) - 0.015, q[:, 2])
            out = np.maximum(out, along * across * near)
        return out


def _layer_seed(seed: int, layer: int) -> int:
    return hash_int(hash_int(seed) ^ (layer * 0x9E3779B9))


def skin_albedo(
    position: NDArray[np.float32],
    params: SkinParams,
    face: FaceFrame | None = None,
    *,
    texel_size: float = 5e-4,
) -> NDArray[np.float32]:
    """Procedural skin albedo at surface positions.

    Parameters
    ----------
    position
        ``(q, 3)`` float positions on the skin surface, metres, in the same frame as ``face``.
    params
        The person's skin (:func:`random_skin_params`).
    face
        Face landmarks; without them the lips, stubble, eyebrows and facial redness are left out.
    texel_size
        Surface length of one texel, metres: detail finer than about two texels is faded to its mean, so the
        texture does not alias at that resolution (0: keep all detail).

    Returns
    -------
    NDArray[np.float32]
        ``(q, 3)`` linear Rec.709 albedo in ``[0.005, 0.9]``.
    """
    p = np.asarray(position, np.float32)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"position must be (q, 3), got {p.shape}")
    if not texel_size >= 0.0:
        raise ValueError(f"texel_size must be >= 0, got {texel_size}")
    resolved = _Face.resolve(face)
    out = np.empty((len(p), 3), np.float32)
    for start in range(0, len(p), _CHUNK):
        out[start : start + _CHUNK] = _albedo_chunk(p[start : start + _CHUNK], params, resolved, float(texel_size))
    return out


@dataclass(frozen=True)
class _Fields:
    """The smooth noise fields several layers share, at one chunk of points, each ``(k,)`` in ``[-1, 1]``."""

    melanin: NDArray[np.float32]  # blotches, 5 cm down to 3 mm
    blood: NDArray[np.float32]
    mottle: NDArray[np.float32]  # 3 mm down to 0.75 mm
    grain: NDArray[np.float32]
    freckle_cluster: NDArray[np.float32]  # patches, 4 cm and 2 cm
    vein_patch: NDArray[np.float32]
    wrinkle_patch: NDArray[np.float32]
    pore_density: NDArray[np.float32]

    @staticmethod
    def at(p: NDArray[np.float32], seed: int, texel: float) -> _Fields:
        tone = fbm_fields(p, _layer_seed(seed, _L_TONE), 2, wavelength=0.05, octaves=5, gain=0.55, texel_size=texel)
        fine = fbm_fields(p, _layer_seed(seed, _L_FINE), 2, wavelength=3e-3, octaves=3, gain=0.7, texel_size=texel)
        mask = fbm_fields(p, _layer_seed(seed, _L_MASKS), 4, wavelength=0.04, octaves=2, texel_size=texel)
        return _Fields(*tone, *fine, *mask)


def _albedo_chunk(p: NDArray[np.float32], sp: SkinParams, face: _Face | None, texel: float) -> NDArray[np.float32]:
    """:func:`skin_albedo` on ``(k, 3)`` points: chromophores, then multiplicative detail and hair."""
    one = np.float32(1.0)
    reg = face.regions(p, sp) if face is not None else _Regions.empty(len(p))
    fields = _Fields.at(p, sp.seed, texel)
    mel, hb = _chromophores(p, sp, reg, fields, texel)
    albedo = chromophore_albedo(mel, hb)
    albedo *= (one - np.float32(0.12 * sp.lip_strength) * reg.lips - np.float32(0.5) * reg.mouth_line)[:, None]
    # Under the eyes thin skin shows the blood beneath it: a faint blue-purple shade (plus a little melanin).
    albedo *= np.exp(-np.float32(0.6) * reg.under_eye[:, None] * _VEIN_ABSORPTION)
    vein_vis = sp.vein_strength * (1.0 - 0.8 * sp.melanin)
    if vein_vis > 0.02:
        patch = _smoothstep(0.0, 0.4, fields.vein_patch) + np.float32(0.6) * reg.under_eye
        lines = ridge_lines(p, _layer_seed(sp.seed, _L_VEIN), wavelength=0.03, width=0.12, warp=0.7, texel_size=texel)
        v = np.float32(vein_vis) * patch * lines * (one - reg.lips)
        albedo *= np.exp(-v[:, None] * _VEIN_ABSORPTION)
    albedo *= _fine_detail(p, sp, reg, fields, texel)[:, None]
    _hair(albedo, p, sp, reg, fields, texel)
    return np.clip(albedo, ALBEDO_MIN, ALBEDO_MAX).astype(np.float32, copy=False)


def _chromophores(
    p: NDArray[np.float32], sp: SkinParams, reg: _Regions, fields: _Fields, texel: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """``(k,)`` melanin and hemoglobin: blotches, mottle, under-eye darkening, facial flush, lips, freckles."""
    one = np.float32(1.0)
    mel = np.float32(sp.melanin) + np.float32(0.12 * sp.blotch) * fields.melanin + np.float32(0.07) * fields.mottle
    mel += np.float32(0.04) * reg.under_eye
    hb = np.float32(sp.hemoglobin) * (one + np.float32(1.2 * sp.blotch) * fields.blood)
    hb += np.float32(0.7 * sp.redness) * reg.flush * (np.float32(0.6) + np.float32(1.2) * fields.blood)
    hb += np.float32(1.4 * sp.lip_strength) * reg.lips
    if sp.freckle_strength > 0:
        mel += np.float32(0.5 * sp.freckle_strength) * _freckles(p, sp, reg, fields, texel)
    if sp.patch_strength != 0:
        field = fbm_fields(
            p, _layer_seed(sp.seed, _L_PATCH), 1, wavelength=PATCH_WAVELENGTH, octaves=2, texel_size=texel
        )[0]
        mel += np.float32(0.3 * sp.patch_strength) * _smoothstep(0.15, 0.45, field)
    return mel, hb


def _freckles(
    p: NDArray[np.float32], sp: SkinParams, reg: _Regions, fields: _Fields, texel: float
) -> NDArray[np.float32]:
    """``(k,)`` freckle coverage, 0 to 1: soft round spots of two sizes, clustered.

    Clusters come from a coarse field (and the nose and cheeks), where more cells hold a freckle; each
    freckle's darkness varies.
    """
    cluster = np.maximum(_smoothstep(-0.25, 0.3, fields.freckle_cluster), reg.flush) * (np.float32(1.0) - reg.lips)
    prob = np.float32(sp.freckle_density) * cluster
    # The largest ball's diameter is freckle_size; a second, finer lattice adds small freckles.
    cell = sp.freckle_size / 0.9
    out = np.zeros(len(p), np.float32)
    for i, scale in enumerate((1.0, 0.5)):
        dots = spots(
            p,
            _layer_seed(sp.seed, _L_FRECKLE) + i,
            cell=cell * scale,
            radius=(0.15, 0.45),
            probability=prob,
            texel_size=texel,
            intensity_jitter=0.7,
            softness=0.7,
        )
        out = np.maximum(out, dots)
    return out


def _fine_detail(
    p: NDArray[np.float32], sp: SkinParams, reg: _Regions, fields: _Fields, texel: float
) -> NDArray[np.float32]:
    """``(k,)`` multiplicative shade of the fine detail: grain, furrow crosshatch, wrinkles and pores."""
    one = np.float32(1.0)
    seed = sp.seed
    shade = one + np.float32(0.05) * fields.grain
    # The furrow crosshatch: three line fields, each squeezed 5x along one of three orthogonal axes, so that their
    # zero sets are wavy parallel sheets; any surface cuts at least two families in near-parallel lines about
    # 0.5 mm apart, which cross in rhombi.
    fs = _layer_seed(seed, _L_FURROW)
    frame = rotation(fs, 9)
    for axis in range(3):
        squeeze = np.ones(3, np.float32)
        squeeze[axis] = 5.0
        lines = ridge_lines(p @ (frame * squeeze), fs + axis, wavelength=3e-3, width=0.1, texel_size=texel * 5.0)
        shade -= np.float32(0.07 * sp.wrinkle_strength) * lines
    # Wrinkles in patches: a field squeezed 10x along one axis (near-parallel lines a few mm apart).
    ws = _layer_seed(seed, _L_WRINKLE)
    squeezed = p @ (rotation(ws, 7) * np.array([1.0, 1.0, 10.0], np.float32))
    lines = ridge_lines(squeezed, ws, wavelength=0.04, width=0.05, texel_size=texel * 10.0)
    shade -= np.float32(0.2 * sp.wrinkle_strength) * _smoothstep(0.05, 0.4, fields.wrinkle_patch) * lines
    # Pores: two overlapping dot lattices, denser where a coarse field (and the nose and cheeks) say.
    density = np.float32(0.6) + np.float32(0.4) * fields.pore_density + np.float32(0.3) * reg.flush
    density *= one - reg.lips
    cell = sp.pore_size
    pores = spots(
        p, _layer_seed(seed, _L_PORE_A), cell=cell, radius=(0.12, 0.32), probability=density, texel_size=texel
    )
    pores += np.float32(0.7) * spots(
        p, _layer_seed(seed, _L_PORE_B), cell=cell * 1.37, radius=(0.08, 0.25), probability=density, texel_size=texel
    )
    shade -= np.float32(0.45 * sp.pore_strength) * np.minimum(pores, one)
    return np.maximum(shade, np.float32(0.0))


def _hair(
    albedo: NDArray[np.float32], p: NDArray[np.float32], sp: SkinParams, reg: _Regions, fields: _Fields, texel: float
) -> None:
    """Darken ``(k, 3)`` ``albedo`` in place by eyebrows and stubble (both only with a face frame)."""
    one = np.float32(1.0)
    if sp.eyebrow_strength > 0 and reg.local is not None and np.any(reg.brows > 0):
        # Hair streaks along the brow: a face-local field about 1 mm across the hairs and 8 mm along them.
        bs = _layer_seed(sp.seed, _L_BROW)
        streaks = value_noise(reg.local * np.array([125.0, 1000.0, 1000.0], np.float32), bs)
        density = np.float32(0.8) + np.float32(0.8 * band_weight(1e-3, texel)) * streaks
        b = np.clip(np.float32(sp.eyebrow_strength) * reg.brows * density, 0.0, 1.0)
        albedo *= one - b[:, None] * (one - _BROW_TINT)
    if sp.stubble_strength > 0 and np.any(reg.beard > 0):
        # A ragged edge (the fine mottle field shifts it by a few mm) and a patchy density.
        edge = np.clip((reg.beard - np.float32(0.5)) * np.float32(2.5) + np.float32(0.5) + fields.mottle, 0.0, 1.0)
        st = np.float32(sp.stubble_strength) * edge * (np.float32(0.8) + np.float32(0.3) * fields.blood)
        albedo *= one - st[:, None] * (one - _STUBBLE_TINT)
        follicles = spots(
            p, _layer_seed(sp.seed, _L_FOLLICLE), cell=7e-4, radius=(0.12, 0.3), probability=0.85, texel_size=texel
        )
        albedo *= (one - np.float32(0.5) * st * follicles)[:, None]
