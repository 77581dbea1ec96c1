"""Model weights on disk: safetensors files checked against their recorded SHA-256 before anything reads them.

The base weights ship beside this package (``weights/``) with their hashes in ``weights/manifest.json``; a file
that is missing, changed or truncated is refused with one line (:class:`lifecast.errors.InputError`), never
half-loaded. Nothing is downloaded.

A released base never changes and is never removed (:data:`RELEASED_BASES`): new work runs on the newest
(:data:`DELIGHT_BASE`), and a subject's adapter runs on the base it was trained on, whose SHA-256 its card
records (:func:`released_base`), so the look an artist's corrections taught stays the same after an upgrade.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from lifecast.errors import InputError
from lifecast.ml.delight import SHADING_RANGE
from lifecast.ml.features import FEATURES
from lifecast.ml.release import DELIGHT_BASE, RELEASED_BASES
from lifecast.ml.unet import UNet
from lifecast.pipeline.atomic import atomic_path, write_text_atomic

#: The folder of the shipped weights.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: ``{file name: sha256}`` of every shipped weights file.
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    """The file's SHA-256, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expected_hash(path: Path) -> str | None:
    """The SHA-256 recorded for ``path`` in its folder's manifest, or ``None`` when none is recorded."""
    manifest = path.parent / MANIFEST
    if not manifest.is_file():
        return None
    try:
        value = json.loads(manifest.read_text()).get(path.name)
    except (json.JSONDecodeError, AttributeError):
        raise InputError(f"the weights manifest {manifest} is not valid JSON") from None
    return str(value) if value else None


def load_checked(path: Path, *, require_hash: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file whose hash matches its manifest.

    Raises
    ------
    InputError
        The file is missing, has no recorded hash (with ``require_hash``), does not match it, or is not a
        safetensors file.
    """
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise InputError(f"model weights not found: {path} (reinstall lifecast, or train them: lifecast ml train-base)")
    want = expected_hash(path)
    if want is None and require_hash:
        raise InputError(f"no recorded hash for {path.name} in {path.parent / MANIFEST}: refusing unverified weights")
    if want is not None and sha256_file(path) != want:
        raise InputError(f"model weights {path} do not match their recorded SHA-256 (corrupt or modified): refused")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (a safetensors handle, not a dict)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"model weights {path} cannot be read: {exc}") from None
    return tensors, meta


def shipped_weights_sha256() -> str:
    """The recorded hash of the shipped base weights (what a stage's key holds), ``""`` when none is recorded."""
    return expected_hash(WEIGHTS_DIR / DELIGHT_BASE) or ""


def released_base(sha256: str) -> Path:
    """The shipped base weights whose recorded hash is ``sha256`` (an adapter's ``base_sha256``).

    Raises
    ------
    InputError
        No released base has that hash.
    """
    for name in RELEASED_BASES:
        path = WEIGHTS_DIR / name
        if sha256 and expected_hash(path) == sha256:
            return path
    raise InputError(
        f"no base weights with SHA-256 {sha256[:12] or '(none)'} ship with this lifecast "
        f"(released: {', '.join(RELEASED_BASES)})"
    )


def is_released_base(sha256: str) -> bool:
    """Whether ``sha256`` is the hash of a base this lifecast ships."""
    return bool(sha256) and any(expected_hash(WEIGHTS_DIR / name) == sha256 for name in RELEASED_BASES)


def build_model(meta: dict[str, str]) -> UNet:
    """An untrained model of the architecture the metadata records."""
    return UNet(
        int(meta.get("cin", FEATURES)),
        int(meta.get("cout", 3)),
        width=int(meta.get("width", 24)),
        min_shading=float(meta.get("min_shading", SHADING_RANGE[0])),
    )


def load_delight_model(path: Path | None = None, *, device: str = "cpu") -> tuple[UNet, dict[str, str]]:
    """The delight model (the shipped base weights by default), in eval mode on ``device``."""
    tensors, meta = load_checked(path or WEIGHTS_DIR / DELIGHT_BASE)
    model = build_model(meta)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise InputError(f"model weights do not fit the model: {str(exc).splitlines()[0]}") from None
    return model.to(device).eval(), meta


def save_weights(model: UNet, path: Path, meta: dict[str, Any]) -> str:
    """Write ``model`` to ``path`` (atomically) with ``meta`` and record its hash in the folder's manifest;
    returns the hash."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"cin": str(model.cin), "cout": str(model.cout), "width": str(model.width)}
    info["min_shading"] = str(model.min_shading)
    info.update({k: str(v) for k, v in meta.items()})
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=info)
    digest = sha256_file(path)
    manifest = path.parent / MANIFEST
    table = json.loads(manifest.read_text()) if manifest.is_file() else {}
    table[path.name] = digest
    write_text_atomic(manifest, json.dumps(table, indent=2, sort_keys=True) + "\n")
    return digest


__all__ = [
    "DELIGHT_BASE",
    "RELEASED_BASES",
    "WEIGHTS_DIR",
    "build_model",
    "is_released_base",
    "load_checked",
    "load_delight_model",
    "released_base",
    "save_weights",
    "sha256_file",
    "shipped_weights_sha256",
]
