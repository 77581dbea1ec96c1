"""The visual QA report: one self-contained HTML page per asset, and an index page per batch.

==================  ====================================================================
module              holds
==================  ====================================================================
``asset_files``     what the report reads from an asset folder: maps, LOD0 mesh, wrap residuals
``images``          maps made viewable (16-bit, float, ACEScg), thumbnails, PNG data URIs
``contact_sheet``   a thumbnail of every map tile per LOD, with its mask's coverage
``views``           shaded views of LOD0 with its albedo, views of the open holes
``heatmap``         the wrap's per-vertex distance on the mesh, its colour scale in mm
``html``            the page itself (pure: dataclasses in, HTML text out)
``build``           an asset folder in, its report's HTML out
``renders``         the rendered check: Blender's Cycles renders of the asset (a subprocess), kept in ``qa/``
``batch_index``     the index page of a batch: every asset's report, thumbnail and status
``commands``        ``lifecast qa report`` (rewrite a page) and ``lifecast qa render`` (renders, then the page)
==================  ====================================================================

Pictures come from the preview renderer (:mod:`lifecast.preview.zbuffer`); nothing on the pages is
fetched (no external CSS, script or font), so they open from a file anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["INDEX_NAME", "REPORT_NAME", "build_qa_report", "write_qa_report"]

#: The report's file name, beside ``qa_report.json``.
REPORT_NAME = "qa_report.html"
#: The batch index's file name, in the batch's output root.
INDEX_NAME = "index.html"


def build_qa_report(asset_dir: Path, qa: Mapping[str, Any]) -> str:
    """The HTML report of the asset in ``asset_dir`` (see :func:`lifecast.report.build.build_qa_report`)."""
    from lifecast.report.build import build_qa_report as build

    return build(asset_dir, qa)


def write_qa_report(asset_dir: Path, out_path: Path, qa: Mapping[str, Any]) -> Path:
    """Build the report of ``asset_dir`` and write it to ``out_path`` atomically; returns ``out_path``."""
    from lifecast.pipeline.atomic import write_text_atomic

    write_text_atomic(out_path, build_qa_report(asset_dir, qa))
    return out_path
