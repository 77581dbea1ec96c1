"""Writing a projection's files: albedo and coverage per UDIM tile, and the per-photo report.

- ``<name>_albedo.<UDIM>.png``: 8-bit sRGB; the uncovered texels are edge-padded from the covered ones
  (push-pull, :func:`lifecast.bake.padding.pad_edges`, as the baker's maps) so mip-maps do not bleed
  black. The mask says which texels are real: an inpainting stage fills the others properly.
- ``<name>_mask.<UDIM>.png``: 8-bit, 255 where some photo saw the texel.
- ``<name>_photos.json``: :meth:`lifecast.photo.ProjectionResult.report`.

Every file is written atomically (a temporary file renamed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lifecast.bake.images import write_png
from lifecast.bake.padding import pad_edges
from lifecast.color import linear_to_srgb
from lifecast.jsonable import json_default
from lifecast.photo.project import ProjectionResult
from lifecast.pipeline.atomic import write_text_atomic


def write_projection(result: ProjectionResult, out_dir: Path, name: str) -> dict[str, dict[str, Path]]:
    """Write the albedo and mask of every tile and the photo report.

    Parameters
    ----------
    result
        What :func:`lifecast.photo.project_photos` returned.
    out_dir
        Output folder (created).
    name
        File name prefix.

    Returns
    -------
    dict
        ``{"albedo": {udim: path}, "mask": {udim: path}, "report": {"photos": path}}`` (UDIMs as strings).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, dict[str, Path]] = {"albedo": {}, "mask": {}, "report": {}}
    for udim, albedo in result.albedo.items():
        mask = result.coverage[udim]
        encoded = np.rint(linear_to_srgb(albedo) * 255.0).astype(np.uint8)
        albedo_path = out_dir / f"{name}_albedo.{udim}.png"
        write_png(albedo_path, np.asarray(pad_edges(encoded, mask), np.uint8))
        mask_path = out_dir / f"{name}_mask.{udim}.png"
        write_png(mask_path, mask.astype(np.uint8) * np.uint8(255))
        paths["albedo"][str(udim)] = albedo_path
        paths["mask"][str(udim)] = mask_path
    report_path = out_dir / f"{name}_photos.json"
    write_text_atomic(report_path, json.dumps(result.report(), indent=2, default=json_default) + "\n")
    paths["report"]["photos"] = report_path
    return paths
