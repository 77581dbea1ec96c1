"""Per-subject adapters of the delight model: low-rank corrections of its convolutions, learnt from one person's
artist fixes (:mod:`lifecast.ml.adapt`) and applied to that person's textures only.

An adapter changes each convolution ``W (cout, cin, k, k)`` of the base :class:`~lifecast.ml.unet.UNet` into
``W + reshape(B @ A)`` with ``A (r, cin k k)``, ``B (cout, r)`` (LoRA, Hu et al. 2021, on convolutions) and
adds ``bias_delta (cout,)`` to its bias. ``B`` and ``bias_delta`` start at zero, so an untrained adapter is the base
model exactly. The base model is never modified: :class:`AdaptedUNet` trains on a frozen copy of it, and
:func:`apply_adapter` returns a new :class:`~lifecast.ml.unet.UNet` with the merged weights, used like the base
(``.cout``, :func:`lifecast.ml.tiling.run_tiled`, :func:`lifecast.ml.delight.delight_arrays`).

On disk (``SHOW/subjects/<id>/models/``)::

    adapter-<UTC time>.safetensors   the A, B and bias tensors of every layer (metadata: rank, base hash, ...)
    adapter-<UTC time>.json          its card: SHA-256 of the file, subject, project, base weights' hash,
                                     corrections used and held out, steps, seconds, held-out errors

:func:`load_adapter` refuses a file whose SHA-256 differs from its card's, and :func:`subject_adapter` checks the
subject's ``texture-training`` consent every time an adapter is about to be used, so revoking it switches the
adapter off at once.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (torch's convention)
from torch import nn

from lifecast.errors import InputError
from lifecast.ml.unet import UNet
from lifecast.pipeline.atomic import atomic_path, write_text_atomic

#: What an adapter's safetensors metadata names as its format.
ADAPTER_FORMAT = "lifecast-adapter/1"
#: The consent use an adapter is trained and applied under.
ADAPTER_USE = "texture-training"
#: The subject folder adapters live in.
MODELS_DIR = "models"
#: Rank of each convolution's correction, by default.
DEFAULT_RANK = 4


class LoRAConv2d(nn.Module):
    """A frozen convolution plus a trainable low-rank correction of its weight and a bias correction.

    Parameters
    ----------
    conv
        The convolution (its parameters are frozen here, and never written).
    rank
        Rank ``r`` of the weight correction (at most ``min(cout, cin k k)``).
    """

    def __init__(self, conv: nn.Conv2d, rank: int = DEFAULT_RANK) -> None:
        super().__init__()
        if conv.bias is None:
            raise ValueError("LoRAConv2d needs a convolution with a bias")
        self.conv = conv
        for p in conv.parameters():
            p.requires_grad_(False)
        cout, cin_g, kh, kw = conv.weight.shape
        r = max(1, min(rank, cout, cin_g * kh * kw))
        self.rank = r
        self.lora_a = nn.Parameter(torch.empty(r, cin_g * kh * kw))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.lora_b = nn.Parameter(torch.zeros(cout, r))
        self.bias_delta = nn.Parameter(torch.zeros(cout))

    def delta(self) -> torch.Tensor:
        """``(cout, cin, k, k)`` the weight correction."""
        return (self.lora_b @ self.lora_a).view_as(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        bias = c.bias
        assert bias is not None
        return F.conv2d(x, c.weight + self.delta(), bias + self.bias_delta, c.stride, c.padding, c.dilation, c.groups)


def conv_layers(model: nn.Module) -> Iterator[tuple[str, nn.Conv2d]]:
    """``(name, conv)`` of every ``Conv2d`` of ``model``, in module order (``enc0.0``, ..., ``head``)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            yield name, module


def _set_module(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


class AdaptedUNet(nn.Module):
    """A frozen copy of a base :class:`~lifecast.ml.unet.UNet` with a :class:`LoRAConv2d` on every convolution.

    ``(b, cin, h, w) -> (b, cout, h, w)`` like the base; only the adapter's parameters
    (:meth:`adapter_parameters`) train. The base model given is copied, never touched.
    """

    def __init__(self, base: UNet, rank: int = DEFAULT_RANK) -> None:
        super().__init__()
        inner = copy.deepcopy(base)
        for p in inner.parameters():
            p.requires_grad_(False)
        self.layers: dict[str, LoRAConv2d] = {}
        for name, conv in list(conv_layers(inner)):
            wrapped = LoRAConv2d(conv, rank)
            _set_module(inner, name, wrapped)
            self.layers[name] = wrapped
        self.inner = inner
        self.cin, self.cout, self.width, self.rank = base.cin, base.cout, base.width, rank
        self.min_shading = base.min_shading

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.inner(x)
        return out

    def adapter_parameters(self) -> list[nn.Parameter]:
        """The trainable tensors (every layer's ``lora_a``, ``lora_b``, ``bias_delta``)."""
        return [p for layer in self.layers.values() for p in (layer.lora_a, layer.lora_b, layer.bias_delta)]

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """``{"<layer>.lora_a" | ".lora_b" | ".bias_delta": tensor}`` on the CPU, what :func:`save_adapter` writes."""
        out = {}
        for name, layer in self.layers.items():
            out[f"{name}.lora_a"] = layer.lora_a.detach().cpu().contiguous()
            out[f"{name}.lora_b"] = layer.lora_b.detach().cpu().contiguous()
            out[f"{name}.bias_delta"] = layer.bias_delta.detach().cpu().contiguous()
        return out

    def merged(self) -> UNet:
        """A plain :class:`~lifecast.ml.unet.UNet` with the corrections folded into its weights, in eval mode."""
        return merge_adapter(self._base_copy(), self.adapter_state())

    def _base_copy(self) -> UNet:
        base = UNet(self.cin, self.cout, self.width, self.min_shading)
        state = {}
        for name, module in self.inner.named_modules():
            if isinstance(module, LoRAConv2d):
                assert module.conv.bias is not None
                state[f"{name}.weight"] = module.conv.weight.detach()
                state[f"{name}.bias"] = module.conv.bias.detach()
        base.load_state_dict(state)
        return base


def merge_adapter(base: UNet, state: Mapping[str, torch.Tensor]) -> UNet:
    """A new :class:`~lifecast.ml.unet.UNet`: ``base``'s weights plus the adapter ``state`` (``base`` untouched).

    Raises
    ------
    InputError
        The adapter does not fit the model (other layers or shapes: made for another architecture).
    """
    merged = copy.deepcopy(base).cpu()
    layers = dict(conv_layers(merged))
    names = {k.rsplit(".", 1)[0] for k in state}
    if names != set(layers):
        raise InputError("the adapter does not fit the delight model: its layers differ (made for another model)")
    with torch.no_grad():
        for name, conv in layers.items():
            a, b, db = state[f"{name}.lora_a"], state[f"{name}.lora_b"], state[f"{name}.bias_delta"]
            cout, cin_g, kh, kw = conv.weight.shape
            r = a.shape[0]
            if a.shape != (r, cin_g * kh * kw) or b.shape != (cout, r) or db.shape != (cout,) or conv.bias is None:
                raise InputError(f"the adapter does not fit the delight model: layer {name} has other shapes")
            conv.weight += (b.float() @ a.float()).view_as(conv.weight)
            conv.bias += db.float()
    return merged.eval()


# ---------------------------------------------------------------------------------------------------- on disk


@dataclass(frozen=True)
class AdapterInfo:
    """One saved adapter, as its card describes it.

    Attributes
    ----------
    subject_id, project
        Whose adapter, trained under which project's consent.
    path, card_path
        The safetensors file and its JSON card.
    sha256
        The file's SHA-256 as recorded at training (checked before every load).
    base_sha256
        The base weights' SHA-256 it was trained on.
    rank
        Rank of its corrections.
    card
        The whole card.
    """

    subject_id: str
    project: str
    path: Path
    card_path: Path
    sha256: str
    base_sha256: str
    rank: int
    card: dict[str, Any]


def card_path_for(path: Path) -> Path:
    """``adapter-X.safetensors`` -> ``adapter-X.json``."""
    return path.with_suffix(".json")


def save_adapter(model: AdaptedUNet, path: Path, card: Mapping[str, Any]) -> AdapterInfo:
    """Write the adapter of ``model`` and its card (atomically, card last); returns what was written.

    ``card`` must hold ``subject_id``, ``project`` and ``base_sha256``; ``sha256``, ``rank`` and ``file`` are added.
    """
    from safetensors.torch import save_file

    from lifecast.ml.weights import sha256_file

    for key in ("subject_id", "project", "base_sha256"):
        if not card.get(key):
            raise ValueError(f"an adapter card needs {key!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": ADAPTER_FORMAT,
        "rank": str(model.rank),
        "cin": str(model.cin),
        "cout": str(model.cout),
        "width": str(model.width),
        "subject_id": str(card["subject_id"]),
        "project": str(card["project"]),
        "base_sha256": str(card["base_sha256"]),
    }
    with atomic_path(path) as tmp:
        save_file(model.adapter_state(), str(tmp), metadata=meta)
    full = {**card, "file": path.name, "sha256": sha256_file(path), "rank": model.rank, "format": ADAPTER_FORMAT}
    card_path = card_path_for(path)
    write_text_atomic(card_path, json.dumps(full, indent=2, sort_keys=True, default=str) + "\n")
    return _info(card_path, full, path)


def _info(card_path: Path, card: Mapping[str, Any], path: Path) -> AdapterInfo:
    return AdapterInfo(
        subject_id=str(card["subject_id"]),
        project=str(card["project"]),
        path=path,
        card_path=card_path,
        sha256=str(card["sha256"]),
        base_sha256=str(card["base_sha256"]),
        rank=int(card["rank"]),
        card=dict(card),
    )


def read_card(card_path: Path) -> AdapterInfo:
    """The adapter a card describes; :class:`InputError` for a card that is not one."""
    try:
        card = json.loads(card_path.read_text())
        return _info(card_path, card, card_path.parent / str(card["file"]))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise InputError("not a readable adapter card", card_path) from None


def load_adapter(info: AdapterInfo) -> dict[str, torch.Tensor]:
    """The adapter's tensors, after checking the file against the SHA-256 its card recorded.

    Raises
    ------
    InputError
        The file is missing, changed since training, or not an adapter.
    """
    from safetensors import SafetensorError, safe_open

    from lifecast.ml.weights import sha256_file

    if not info.path.is_file():
        raise InputError("adapter file missing (its card is there)", info.path)
    if sha256_file(info.path) != info.sha256:
        raise InputError(
            "adapter does not match the SHA-256 its card recorded (changed or damaged): refused", info.path
        )
    try:
        with safe_open(str(info.path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (a safetensors handle, not a dict)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"adapter cannot be read: {exc}", info.path) from None
    if meta.get("format") != ADAPTER_FORMAT or meta.get("subject_id") != info.subject_id:
        raise InputError("not a lifecast adapter of this subject", info.path)
    return tensors


def apply_adapter(base_model: nn.Module, info: AdapterInfo, *, base_sha256: str | None = None) -> UNet:
    """A new model, ``base_model`` with the adapter merged in, used exactly like the base (``.cout``, eval mode,
    on the base's device). ``base_model`` is not modified.

    Parameters
    ----------
    base_model
        The base :class:`~lifecast.ml.unet.UNet` (:func:`lifecast.ml.weights.load_delight_model`).
    info
        The adapter (:func:`subject_adapter`); its file is checked against its recorded hash.
    base_sha256
        The base weights' hash, when known: an adapter trained on other base weights is refused.

    Raises
    ------
    InputError
        A changed adapter file, other base weights, or an adapter that does not fit the model.
    """
    if not isinstance(base_model, UNet):
        raise TypeError("apply_adapter needs the base UNet")
    if base_sha256 is not None and base_sha256 != info.base_sha256:
        raise InputError(
            f"adapter {info.path.name} was trained on other base weights ({info.base_sha256[:12]}, these are "
            f"{base_sha256[:12]}): retrain it (lifecast ml adapt --subject {info.subject_id})"
        )
    device = next(base_model.parameters()).device
    merged = merge_adapter(base_model, load_adapter(info))
    return merged.to(device).eval()


# ---------------------------------------------------------------------------------------------------- per subject


def models_dir(show: Any, subject_id: str) -> Path:
    """``SHOW/subjects/<id>/models``, checked to lie inside the subject's folder."""
    path: Path = show.subject_dir(subject_id) / MODELS_DIR
    show.require_owned(subject_id, path)
    return path


def latest_adapter(show: Any, subject_id: str) -> AdapterInfo | None:
    """The subject's newest adapter by its card (``None`` when there is none)."""
    folder = models_dir(show, subject_id)
    cards = sorted(folder.glob("adapter-*.json")) if folder.is_dir() else []
    return read_card(cards[-1]) if cards else None


@dataclass(frozen=True)
class AdapterChoice:
    """Which adapter processing a subject's textures uses, and why (one line for the log).

    ``info`` is ``None`` when none is used; ``note`` says why (none trained, consent revoked, ``--no-adapter``...).
    """

    info: AdapterInfo | None
    note: str


def choose_adapter(
    show: Any,
    subject_id: str | None,
    *,
    use: bool = True,
    base_sha256: str | None = None,
    clock: Any = None,
) -> AdapterChoice:
    """The adapter to apply to ``subject_id``'s textures now, or none and why.

    Used only when the show has a registry, the subject has an adapter whose base weights are ``base_sha256``
    (default: any base this lifecast ships, :data:`lifecast.ml.release.RELEASED_BASES`; the job then runs on
    the adapter's base, ``choice.info.base_sha256``) and a valid ``texture-training`` consent for the adapter's
    project today.

    Raises
    ------
    InputError
        The newest adapter's card cannot be read.
    """
    if not use:
        return AdapterChoice(None, "adapter off (--no-adapter)")
    if show is None or subject_id is None:
        return AdapterChoice(None, "")
    if not show.has_registry():
        return AdapterChoice(None, "no adapter: the show has no registry")
    info = latest_adapter(show, subject_id)
    if info is None:
        return AdapterChoice(None, f"no adapter for subject {subject_id}")
    from lifecast.ml.weights import is_released_base, shipped_weights_sha256

    usable = is_released_base(info.base_sha256) if base_sha256 is None else info.base_sha256 == base_sha256
    if not usable:
        return AdapterChoice(
            None,
            f"adapter {info.path.name} ignored: trained on other base weights (retrain: lifecast ml adapt "
            f"--subject {subject_id})",
        )
    older = base_sha256 is None and info.base_sha256 != shipped_weights_sha256()
    from lifecast.consent.policy import ConsentError, require_consent
    from lifecast.consent.registry import Registry

    with Registry.for_show(show, clock=clock) as registry:
        try:
            require_consent(registry, subject_id, info.project, ADAPTER_USE)
        except ConsentError as exc:
            return AdapterChoice(None, f"adapter {info.path.name} not applied: {exc.message}")
    note = f"adapter {info.path.name} applied (sha256 {info.sha256[:12]})"
    if older:
        note += (
            f" on the older base weights it was trained on ({info.base_sha256[:12]}); lifecast ml adapt "
            f"--subject {subject_id} retrains it on the newest"
        )
    return AdapterChoice(info, note)


def subject_adapter(
    show: Any, subject_id: str, *, require: bool = True, base_sha256: str | None = None, clock: Any = None
) -> AdapterInfo | None:
    """The adapter to use for ``subject_id`` now, or ``None`` (none trained, other base weights, no registry, or
    no valid ``texture-training`` consent today).

    ``require=False`` skips the consent check (listing and inspection only: never apply what it returns).
    """
    if not require:
        return latest_adapter(show, subject_id) if show is not None else None
    return choose_adapter(show, subject_id, base_sha256=base_sha256, clock=clock).info


# ---------------------------------------------------------------------------------------------------- the stage


def stage_adapter_params(
    show: Any, subject_id: str | None, *, use: bool = True, base_sha256: str | None = None
) -> tuple[dict[str, str], AdapterChoice]:
    """The ``delight`` stage's adapter parameters (part of its cache key) and the choice behind them.

    ``{"adapter_sha256": "", "adapter_card": ""}`` when no adapter is used (no show, no subject, none trained,
    other base weights, no valid ``texture-training`` consent, or ``use=False``).
    """
    choice = choose_adapter(show, subject_id, use=use, base_sha256=base_sha256)
    if choice.info is None:
        return {"adapter_sha256": "", "adapter_card": ""}, choice
    return {"adapter_sha256": choice.info.sha256, "adapter_card": str(choice.info.card_path)}, choice


def model_for_stage(model: UNet, params: Mapping[str, Any], base_sha256: str | None = None) -> UNet:
    """``model`` with the adapter that :func:`stage_adapter_params` chose (``model`` itself when none).

    Raises
    ------
    InputError
        The adapter's card or file changed since the stage's parameters were made.
    """
    sha = str(params.get("adapter_sha256") or "")
    if not sha:
        return model
    info = read_card(Path(str(params["adapter_card"])))
    if info.sha256 != sha:
        raise InputError("the subject's adapter changed since this run started: rerun", info.card_path)
    return apply_adapter(model, info, base_sha256=base_sha256)


__all__ = [
    "ADAPTER_FORMAT",
    "ADAPTER_USE",
    "DEFAULT_RANK",
    "MODELS_DIR",
    "AdaptedUNet",
    "AdapterChoice",
    "AdapterInfo",
    "LoRAConv2d",
    "apply_adapter",
    "card_path_for",
    "choose_adapter",
    "conv_layers",
    "latest_adapter",
    "load_adapter",
    "merge_adapter",
    "model_for_stage",
    "models_dir",
    "read_card",
    "save_adapter",
    "stage_adapter_params",
    "subject_adapter",
]
