"""The contact sheet: a thumbnail of every baked map tile of every LOD, with the coverage of its LOD's mask."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.report.asset_files import MapFile
from lifecast.report.images import covered_range, display_map, read_map, thumbnail
from lifecast.threads import available_cpus

__all__ = ["ContactSheet", "MapThumbnail", "contact_sheet", "mask_coverage"]


@dataclass(frozen=True)
class MapThumbnail:
    """One map tile on the sheet.

    ``image (h, w, 3) uint8`` what is shown; ``width``, ``height`` and ``storage`` (``"8-bit PNG"``...) of the
    file; ``coverage`` the share of texels its LOD's mask tile covers (``None`` without a mask); ``note`` how
    the map is shown (a displacement's range).
    """

    map: MapFile
    image: NDArray[np.uint8]
    width: int
    height: int
    storage: str
    coverage: float | None
    note: str


@dataclass(frozen=True)
class ContactSheet:
    """The thumbnails, by LOD then UDIM then channel, and the LOD0 albedo tiles for the shaded views.

    ``albedo`` is ``{udim: (h, w, 3) float32 sRGB in [0, 1]}``, at most ``albedo_size`` pixels across.
    """

    thumbnails: list[MapThumbnail]
    albedo: dict[int, NDArray[np.float32]] = field(default_factory=dict)

    def lods(self) -> list[int]:
        return sorted({t.map.lod for t in self.thumbnails})


def mask_coverage(mask: NDArray[np.generic]) -> float:
    """Share of texels a coverage mask marks covered (value over half its range), as the baker counts them."""
    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[..., 0]
    half = 0.5 if m.dtype.kind == "f" else np.iinfo(m.dtype).max / 2
    return float((m > half).mean()) if m.size else 0.0


def contact_sheet(maps: Sequence[MapFile], size: int = 256, units: str = "", albedo_size: int = 1024) -> ContactSheet:
    """Read every map of ``maps`` once (in threads) and make its thumbnail.

    Parameters
    ----------
    maps
        The asset's map tiles (:func:`lifecast.report.asset_files.find_maps`); ``mask`` tiles give coverage.
    size
        Longest side of a thumbnail, pixels.
    units
        The asset's length units, for the displacement's range.
    albedo_size
        Longest side of the LOD0 albedo tiles kept for the shaded views.
    """
    masks = {(m.lod, m.udim): m for m in maps if m.channel == "mask"}
    full_masks: dict[tuple[int, int], NDArray[np.bool_]] = {}
    coverage: dict[tuple[int, int], float] = {}
    for key, m in masks.items():
        pixels: NDArray[Any] = np.asarray(read_map(m.path))
        coverage[key] = mask_coverage(pixels)
        full_masks[key] = (pixels if pixels.ndim == 2 else pixels[..., 0]) > 127

    def one(m: MapFile) -> tuple[MapThumbnail, NDArray[np.float32] | None]:
        full = read_map(m.path)
        small = thumbnail(full, size)
        value_range = None
        if m.channel == "displacement" or (full.dtype.kind == "f" and m.channel != "albedo"):
            value_range = covered_range(full, full_masks.get((m.lod, m.udim)))
        shown = display_map(small, m.channel, value_range, units)
        albedo = None
        if m.channel == "albedo" and m.lod == 0:
            big = thumbnail(full, albedo_size)
            albedo = (
                display_map(big, "albedo").rgb.astype(np.float32) / 255.0
                if big.dtype.kind == "f"
                else big.astype(np.float32) / float(np.iinfo(big.dtype).max)  # type: ignore[type-var]
            )
        h, w = full.shape[:2]
        entry = MapThumbnail(m, shown.rgb, w, h, _storage(full, m), coverage.get((m.lod, m.udim)), shown.note)
        return entry, albedo

    with ThreadPoolExecutor(max_workers=max(1, min(4, available_cpus()))) as pool:
        done = list(pool.map(one, maps))
    albedo = {m.udim: a for m, (_, a) in zip(maps, done, strict=True) if a is not None}
    return ContactSheet([entry for entry, _ in done], albedo)


def _storage(pixels: NDArray[np.generic], m: MapFile) -> str:
    kind = "EXR" if m.path.suffix.lower() == ".exr" else "PNG"
    depth = {np.dtype(np.uint8): "8-bit", np.dtype(np.uint16): "16-bit", np.dtype(np.float16): "half"}
    return f"{depth.get(pixels.dtype, 'float')} {kind}"
