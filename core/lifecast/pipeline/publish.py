"""Publishing a finished asset into its output folder, and dropping the maps an earlier run left there."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lifecast.jsonable import json_default
from lifecast.pipeline.atomic import atomic_path
from lifecast.report import REPORT_NAME
from lifecast.worker.events import Event, EventSink


def publish(asset_dir: Path, out_dir: Path, qa: Mapping[str, Any], events: EventSink) -> dict[str, str]:
    """Copy a finished asset into ``out_dir``: every file via temp + rename, ``asset.usda`` last.

    A reader of ``out_dir/asset.usda`` therefore only ever sees complete layers
    and textures from this run or the previous one. ``qa_report.json`` and the
    page an artist reads, ``qa_report.html`` (:mod:`lifecast.report`), go beside it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in asset_dir.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == "asset.usda")
    outputs: dict[str, str] = {}
    for src in files:
        rel = src.relative_to(asset_dir)
        dst = out_dir / rel
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        kind = "usd" if src.suffix in (".usda", ".usdc") else "texture" if src.suffix in (".png", ".exr") else "file"
        events.emit(Event("artifact", {"stage": "export", "path": str(dst), "kind": kind}))
        outputs[str(rel)] = str(dst)
    qa_path = out_dir / "qa_report.json"
    qa_text = json.dumps(qa, indent=1, default=json_default)
    with atomic_path(qa_path) as tmp:
        tmp.write_text(qa_text)
    events.emit(Event("artifact", {"stage": "clean", "path": str(qa_path), "kind": "report"}))
    outputs["qa_report.json"] = str(qa_path)
    _remove_stale_maps(out_dir, {str(p.relative_to(asset_dir)) for p in files})
    html_path = _write_html_report(out_dir, json.loads(qa_text), events)
    if html_path is not None:
        outputs[REPORT_NAME] = str(html_path)
    return outputs


def _write_html_report(out_dir: Path, qa: dict[str, Any], events: EventSink) -> Path | None:
    """Write ``qa_report.html`` (:mod:`lifecast.report`) of the asset just published, beside ``qa_report.json``.

    Made from ``out_dir`` itself, so it shows what a reader of the asset sees (and the Blender renders in
    ``qa/``, marked as of an earlier asset when they are). The report is a view of the asset, never a
    reason to fail publishing it: when it cannot be made, the run warns and drops the previous run's
    report (it would describe another asset).
    """
    from lifecast.report import write_qa_report

    path = out_dir / REPORT_NAME
    try:
        write_qa_report(out_dir, path, qa)
    except Exception as exc:  # any failure: reported as a warning, the asset itself is complete
        path.unlink(missing_ok=True)
        events.emit(Event("warning", {"stage": "export", "message": f"no QA report page: {type(exc).__name__}: {exc}"}))
        return None
    events.emit(Event("artifact", {"stage": "export", "path": str(path), "kind": "report"}))
    return path


def _remove_stale_maps(out_dir: Path, current: set[str]) -> None:
    """Drop textures a previous run left in ``out_dir/maps/`` that this asset no longer uses.

    ``current`` holds the published files' paths relative to ``out_dir`` (``maps/head_lod0_albedo.png``).
    """
    maps = out_dir / "maps"
    if not maps.is_dir():
        return
    for p in maps.iterdir():
        # Dot-files are other writers' in-flight temp files (atomic_path): never ours to remove.
        if p.is_file() and not p.name.startswith(".") and str(p.relative_to(out_dir)) not in current:
            p.unlink(missing_ok=True)


__all__ = ["publish"]
