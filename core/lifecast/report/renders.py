"""The rendered check: the asset rendered by Blender's Cycles (a script in the Blender add-on), kept in ``qa/``.

The core never imports Blender: :func:`render_in_blender` runs ``plugins/blender/lifecast_blender/qa_render.py``
under Blender's own Python (the ``bpy`` wheel's venv, ``.venv-blender``) in a subprocess. The renders are
``qa/render_front.png``, ``qa/render_three_quarter.png`` and ``qa/render_profile.png``; ``qa/renders.json`` records
which asset they show (:func:`asset_key`), so a report never passes renders of an earlier asset off as current.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.pipeline.atomic import write_text_atomic
from lifecast.pipeline.hashing import combine, hash_file

__all__ = [
    "QA_DIR",
    "RENDER_STEMS",
    "Renders",
    "asset_key",
    "default_script",
    "read_renders",
    "render_in_blender",
]

#: The folder beside ``qa_report.html`` the renders go to.
QA_DIR = "qa"
#: (file stem, label) of each render, as the Blender script names them.
RENDER_STEMS = (("render_front", "front"), ("render_three_quarter", "three-quarter"), ("render_profile", "profile"))
_RECORD = "renders.json"


def asset_key(asset_dir: Path) -> str:
    """A hash of what a render shows: the asset's layers and its maps, by content."""
    files = [asset_dir / n for n in ("asset.usda", "geo.usdc", "mtl.usdc")]
    maps = asset_dir / "maps"
    if maps.is_dir():
        files += sorted(p for p in maps.iterdir() if p.is_file() and not p.name.startswith("."))
    return combine(*(f"{p.relative_to(asset_dir)}:{hash_file(p)}" for p in files if p.is_file()))


def default_script() -> Path:
    """The Blender-side script in a lifecast checkout (the add-on's ``qa_render.py``)."""
    return Path(__file__).resolve().parents[3] / "plugins" / "blender" / "lifecast_blender" / "qa_render.py"


def render_in_blender(
    asset_dir: Path,
    blender_python: Path,
    *,
    script: Path | None = None,
    samples: int = 8,
    size: int = 384,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Render ``asset_dir/asset.usda`` from three angles with Cycles on the CPU into ``asset_dir/qa/``.

    Parameters
    ----------
    asset_dir
        A published asset folder.
    blender_python
        A Python that can ``import bpy`` (the ``bpy`` wheel's venv), or a ``blender`` executable's Python.
    script
        The Blender-side script; by default the one in this checkout (:func:`default_script`).
    samples, size
        Cycles samples per pixel and the square image size in pixels.
    timeout
        Seconds the render may take.

    Returns
    -------
    dict
        The script's summary (``renders``, ``materials``, ``seconds``, ``blender`` version), also written to
        ``qa/renders.json`` with the asset's :func:`asset_key`.

    Raises
    ------
    InputError
        When the asset, the Python or the script is missing, or Blender cannot render the asset.
    """
    asset = asset_dir / "asset.usda"
    script = script or default_script()
    if not asset.is_file():
        raise InputError("no asset.usda in the asset folder", asset_dir)
    if not Path(blender_python).exists():
        raise InputError("Blender's Python not found (make setup-blender builds .venv-blender)", blender_python)
    if not script.is_file():
        raise InputError("the Blender QA render script is not here: pass --script", script)
    out = asset_dir / QA_DIR
    argv = [str(blender_python), str(script), str(asset), str(out), "--samples", str(samples), "--size", str(size)]
    # Blender's Python has its own packages (numpy<2): never hand it this venv's paths.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"Blender did not finish rendering in {timeout:.0f} s", asset) from exc
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    summary: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    if proc.returncode != 0 or not summary.get("ok"):
        why = summary.get("error") or (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise InputError(f"Blender could not render the asset: {why}", asset)
    summary["asset_key"] = asset_key(asset_dir)
    write_text_atomic(out / _RECORD, json.dumps(summary, indent=1) + "\n")
    return summary


@dataclass(frozen=True)
class Renders:
    """The renders found in ``qa/``: ``(label, (h, w, 4) uint8 RGBA)`` each, whether they show this asset
    (``current``), and the record's ``summary`` (samples, Blender version, materials)."""

    images: list[tuple[str, NDArray[np.uint8]]]
    current: bool
    summary: dict[str, Any]


def read_renders(asset_dir: Path) -> Renders | None:
    """The asset's Blender renders, ``None`` when it has none."""
    import cv2

    out = asset_dir / QA_DIR
    record = out / _RECORD
    if not record.is_file():
        return None
    summary: dict[str, Any] = json.loads(record.read_text())
    images = []
    for stem, label in RENDER_STEMS:
        pixels = cv2.imread(str(out / f"{stem}.png"), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            continue
        if pixels.ndim == 2:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGRA)
        elif pixels.shape[2] == 3:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2BGRA)
        images.append((label, np.asarray(cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA), np.uint8)))
    if not images:
        return None
    return Renders(images, summary.get("asset_key") == asset_key(asset_dir), summary)
