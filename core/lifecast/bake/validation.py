"""What a bake request must satisfy: its maps, settings, meshes and tiles, checked before any baking, and each
tile's UV overlaps and cage misses, checked as it bakes.

Every check raises :class:`lifecast.errors.InputError` with a message that says what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lifecast.color import ALBEDO_COLORSPACES, check_colorspace_support
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.uv.udim import face_udims

#: Fraction of a tile's covered texels allowed to miss the cage before the bake is refused.
MAX_MISS_FRACTION = 0.5

#: Fraction of a tile's covered texels that may lie inside two low triangles before the bake is
#: refused. xatlas leaves a few such texels where a chart folds over itself (a few dozen at 2K on a
#: 20k-triangle head); stacked or mirrored-on-top charts overlap far more.
MAX_OVERLAP_FRACTION = 1e-3


def check_maps(maps: Sequence[str], known: Sequence[str], high: TriMesh) -> tuple[str, ...]:
    """The channels of ``known`` that ``maps`` asks for, in ``known``'s order (``mask`` is always written).

    Raises
    ------
    InputError
        An unknown map, or ``albedo`` from a high mesh with neither vertex colours nor a UV-mapped texture.
    """
    unknown = [m for m in maps if m not in known and m != "mask"]
    if unknown:
        raise InputError(f"unknown map(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    channels = tuple(m for m in known if m in maps)
    has_texture = high.texture is not None and high.uvs is not None
    if "albedo" in channels and high.vertex_colors is None and not has_texture:
        raise InputError("albedo needs a high mesh with vertex colours or a UV-mapped texture")
    return channels


def check_settings(size: int, albedo_bits: int, albedo_colorspace: str, *, albedo: bool) -> None:
    """The tile size, the albedo's bit depth and colour space (and, with ``albedo``, that it can be converted)."""
    if size < 1:
        raise InputError(f"map size must be positive, got {size}")
    if albedo_bits not in (8, 16):
        raise InputError(f"albedo bit depth must be 8 or 16, got {albedo_bits}")
    if albedo_colorspace not in ALBEDO_COLORSPACES:
        choices = ", ".join(ALBEDO_COLORSPACES)
        raise InputError(f"albedo colour space must be one of {choices}, got {albedo_colorspace!r}")
    if albedo:
        check_colorspace_support(albedo_colorspace)


def check_meshes(high: TriMesh, low: TriMesh) -> None:
    """UVs on the low mesh, triangles on both."""
    if low.uvs is None or low.face_uvs is None:
        raise InputError("the low mesh has no UVs to bake into: unwrap it first (lifecast.uv.unwrap)")
    if high.is_point_cloud or len(low.faces) == 0:
        raise InputError("both meshes need triangles to bake")


def check_distances(*, cage: float | None, cavity_radius: float | None, cavity_depth: float | None) -> None:
    """The distances given (``None``: derived later) are positive."""
    if cage is not None and cage <= 0:
        raise InputError(f"the cage distance must be positive, got {cage}")
    for label, value in (("radius", cavity_radius), ("depth", cavity_depth)):
        if value is not None and not value > 0:
            raise InputError(f"the cavity {label} must be positive, got {value}")


def select_tiles(low: TriMesh, udims: Sequence[int] | Literal["auto"] | None) -> tuple[list[int], NDArray[np.int64]]:
    """The tiles to bake and the ``(m,)`` UDIM of each low face; errors for faces outside them.

    ``udims``: ``None``, tile 1001 only; ``"auto"``, every tile the UVs use; a list, exactly these tiles.
    """
    assert low.uvs is not None and low.face_uvs is not None
    face_tile = face_udims(low.uvs, low.face_uvs)
    used, counts = np.unique(face_tile, return_counts=True)
    if udims == "auto":
        return [int(u) for u in used], face_tile
    allowed = [1001] if udims is None else sorted({int(u) for u in udims})
    outside = {int(u): int(c) for u, c in zip(used, counts, strict=True) if int(u) not in allowed}
    if outside:
        where = ", ".join(f"{c:,} in {u}" for u, c in sorted(outside.items()))
        if udims is None:
            raise InputError(
                f"UVs outside 0-1 without UDIMs: {sum(outside.values()):,} low faces ({where}); pass udims"
            )
        raise InputError(f"low faces lie in UDIM tiles not asked for: {where}")
    return [u for u in allowed if u in set(int(x) for x in used)] or allowed, face_tile


def check_uv_overlaps(udim: int, overlap: int, interior: int) -> None:
    """Refuse a tile whose ``overlap`` texels (inside two or more low triangles) exceed
    :data:`MAX_OVERLAP_FRACTION` of its ``interior`` ones."""
    if overlap > MAX_OVERLAP_FRACTION * max(interior, 1):
        raise InputError(
            f"overlapping UVs: {overlap:,} texels of UDIM {udim} lie inside two or more low triangles "
            f"(stacked or mirrored charts); re-unwrap the low mesh or allow overlaps"
        )


def check_tile_coverage(udim: int, size: int, covered: int, misses: int, cage: float) -> None:
    """Refuse a baked tile with no covered texel, or whose cage missed the high mesh on more than
    :data:`MAX_MISS_FRACTION` of them."""
    if covered == 0:
        raise InputError(f"no texel of UDIM {udim} is covered at {size}px: the low mesh's UVs there are degenerate")
    if misses > MAX_MISS_FRACTION * covered:
        raise InputError(
            f"the cage misses the high mesh: {misses:,} of {covered:,} covered texels of UDIM "
            f"{udim} found no surface within {cage:.4g} along their normal; raise the cage distance or "
            f"check that the meshes are aligned"
        )
