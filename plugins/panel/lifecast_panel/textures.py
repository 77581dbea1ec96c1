"""The albedo files a published asset holds, found by name in its ``maps`` folder. No Qt.

The ``delight`` stage keeps, per LOD ``i`` and UDIM tile, beside the asset's albedo::

    maps/<name>_lod<i>_albedo.<UDIM>.png       the albedo the material reads (delit, then inpainted)
    maps/<name>_lod<i>_albedo_raw.<UDIM>.png   the bake as it was, before the delight
    maps/<name>_lod<i>_shading.<UDIM>.exr      the shading removed (linear float, mean 1)

A single-tile asset names its tile ``1001`` too. A run with the delight switched off
publishes the albedo alone (the publish drops an earlier run's raw and shading files).
The panel shows LOD0's first tile; the Blender add-on has its own copy of these rules
(it cannot import this package).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAPS_FOLDER", "AlbedoMaps", "find_albedo_maps"]

#: The folder beside ``asset.usda`` that holds the textures.
MAPS_FOLDER = "maps"

_ALBEDO = re.compile(r"^(?P<name>.+)_lod(?P<lod>\d+)_albedo\.(?P<udim>\d{4})\.(?P<ext>png|exr)$")


@dataclass(frozen=True)
class AlbedoMaps:
    """One LOD's albedo files, first UDIM tile: what the artist compares.

    ``albedo`` is the file the material reads; ``raw`` the bake before the delight and
    ``shading`` the lighting it removed, ``None`` when the run did not delight (or the
    file is missing). ``tiles`` are the albedo's UDIM tiles; ``stamp`` the files'
    modification times (ns), so a rewritten file makes a different value.
    """

    albedo: Path
    raw: Path | None
    shading: Path | None
    lod: int = 0
    tiles: tuple[int, ...] = (1001,)
    stamp: tuple[int, ...] = ()

    @property
    def delit(self) -> bool:
        """Whether the delight ran: the raw bake is kept beside the albedo."""
        return self.raw is not None


def find_albedo_maps(asset: Path, lod: int = 0) -> AlbedoMaps | None:
    """LOD ``lod``'s albedo files in the ``maps`` folder beside ``asset`` (``asset.usda``); ``None`` when none.

    With several assets' files in one folder (it should not happen), the first name in
    sorted order is taken.
    """
    folder = Path(asset).parent / MAPS_FOLDER
    if not folder.is_dir():
        return None
    found: dict[tuple[str, str], list[int]] = {}
    for path in folder.iterdir():
        match = _ALBEDO.match(path.name)
        if match and int(match["lod"]) == lod and path.is_file():
            found.setdefault((match["name"], match["ext"]), []).append(int(match["udim"]))
    if not found:
        return None
    # One asset's albedo is PNG (sRGB) or EXR (ACEScg); prefer the PNG, which a thumbnail can show.
    (name, ext), tiles = sorted(found.items(), key=lambda item: (item[0][1] != "png", item[0][0]))[0]
    tiles.sort()
    first = tiles[0]
    stem = f"{name}_lod{lod}"
    albedo = folder / f"{stem}_albedo.{first}.{ext}"
    raw = folder / f"{stem}_albedo_raw.{first}.{ext}"
    shading = folder / f"{stem}_shading.{first}.exr"
    present = [p for p in (albedo, raw, shading) if p.is_file()]
    return AlbedoMaps(
        albedo=albedo,
        raw=raw if raw.is_file() else None,
        shading=shading if shading.is_file() else None,
        lod=lod,
        tiles=tuple(tiles),
        stamp=tuple(p.stat().st_mtime_ns for p in present),
    )
