"""Per-subject adapters: low-rank corrections that leave the base model alone, files checked by hash, consent
checked at use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch

from lifecast.consent.registry import Registry
from lifecast.consent.show import Show
from lifecast.errors import InputError
from lifecast.ml.adapt import (
    AdaptSettings,
    TrainTile,
    limit_shading_torch,
    srgb_torch,
    torch_threads,
    train_adapter,
)
from lifecast.ml.adapters import (
    AdaptedUNet,
    apply_adapter,
    choose_adapter,
    load_adapter,
    model_for_stage,
    models_dir,
    read_card,
    save_adapter,
    stage_adapter_params,
    subject_adapter,
)
from lifecast.ml.delight import limit_shading
from lifecast.ml.features import FEATURES
from lifecast.ml.tiling import run_tiled
from lifecast.ml.unet import UNet

BASE_SHA = "b" * 64


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny tensors: one torch thread (on shared cores, two cost seconds a step in spin-waits)."""
    with torch_threads(1):
        yield


def _base(width: int = 8, seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    model = UNet(FEATURES, 3, width=width)
    torch.nn.init.normal_(model.head.weight, std=0.05)  # a trained head is not zero
    return model.eval()


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _perturbed(base: UNet, seed: int = 1) -> AdaptedUNet:
    adapted = AdaptedUNet(base, rank=4)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in adapted.layers.values():
            layer.lora_b.copy_(torch.randn(layer.lora_b.shape, generator=g) * 0.05)
            layer.bias_delta.copy_(torch.randn(layer.bias_delta.shape, generator=g) * 0.01)
    return adapted.eval()


def test_an_untrained_adapter_is_the_base_model_exactly() -> None:
    base = _base()
    adapted = AdaptedUNet(base)
    x = torch.randn(2, FEATURES, 32, 32)
    with torch.no_grad():
        assert torch.equal(adapted(x), base(x))
        assert torch.equal(adapted.merged()(x), base(x))
    names = [n for n, _ in adapted.layers.items()]
    assert names[0] == "enc0.0" and names[-1] == "head" and len(names) == 11  # ten 3x3 convolutions and the head
    assert adapted.layers["head"].rank == 3 and adapted.layers["enc0.0"].rank == 4  # the head has 3 outputs


def test_training_changes_only_the_adapter() -> None:
    base = _base()
    before = _state(base)
    adapted = AdaptedUNet(base)
    trainable = {id(p) for p in adapted.adapter_parameters()}
    assert {id(p) for p in adapted.parameters() if p.requires_grad} == trainable
    frozen = {k: v.clone() for k, v in adapted.inner.state_dict().items() if "lora" not in k and "delta" not in k}
    opt = torch.optim.Adam(adapted.adapter_parameters(), lr=1e-2)
    x, y = torch.randn(1, FEATURES, 16, 16), torch.randn(1, 3, 16, 16)
    for _ in range(3):
        loss = (adapted(x) - y).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in _state(base).items():
        assert torch.equal(v, before[k]), f"base {k} was written"
    assert all(p.requires_grad for p in base.parameters()), "the base model's own flags are left as they were"
    for k, v in adapted.inner.state_dict().items():
        if k in frozen:
            assert torch.equal(v, frozen[k])
    assert any(float(layer.lora_b.detach().abs().max()) > 0 for layer in adapted.layers.values())


def test_the_merged_model_is_the_adapted_one_and_runs_like_the_base() -> None:
    base = _base()
    adapted = _perturbed(base)
    merged = adapted.merged()
    x = torch.randn(1, FEATURES, 40, 48)
    with torch.no_grad():
        a, m, b = adapted(x), merged(x), base(x)
    assert float((a - m).abs().max()) < 1e-5  # float rounding of W + BA (measured 6e-7)
    assert float((a - b).abs().max()) > 1e-3, "the perturbation is visible"
    assert merged.cout == 3 and not merged.training
    feats = np.random.default_rng(0).normal(size=(FEATURES, 72, 64)).astype(np.float32)
    tiled = run_tiled(merged, feats, tile=32)
    assert tiled.shape == (3, 72, 64) and np.isfinite(tiled).all()


def test_saved_adapters_are_checked_by_hash_and_base(tmp_path: Path) -> None:
    base = _base()
    adapted = _perturbed(base)
    info = save_adapter(
        adapted, tmp_path / "adapter-1.safetensors", {"subject_id": "ana", "project": "P1", "base_sha256": BASE_SHA}
    )
    again = read_card(info.card_path)
    assert again.sha256 == info.sha256 and again.base_sha256 == BASE_SHA and again.rank == 4
    tensors = load_adapter(again)
    assert set(tensors) == set(adapted.adapter_state())
    model = apply_adapter(base, again, base_sha256=BASE_SHA)
    x = torch.randn(1, FEATURES, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), adapted.merged()(x))
    with pytest.raises(InputError, match="other base weights"):
        apply_adapter(base, again, base_sha256="c" * 64)
    with pytest.raises(InputError, match="does not fit"):
        apply_adapter(_base(width=12), again)
    data = bytearray(info.path.read_bytes())
    data[-1] ^= 0xFF
    info.path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="SHA-256"):
        apply_adapter(base, again)


def _show(tmp_path: Path, uses: list[str]) -> Show:
    show = Show(tmp_path / "show")
    with Registry.for_show(show, create=True, actor="tester") as reg:
        reg.add_subject("ana", "Ana")
        reg.add_subject("ben", "Ben")
        reg.grant("ana", "P1", uses)
        reg.grant("ben", "P1", ["digital-double", "texture-training"])
    return show


def _save_for(show: Show, subject: str, base: UNet, when: str = "20270301T120000Z") -> Path:
    info = save_adapter(
        _perturbed(base),
        models_dir(show, subject) / f"adapter-{when}.safetensors",
        {"subject_id": subject, "project": "P1", "base_sha256": BASE_SHA},
    )
    return info.path


def test_the_adapter_is_used_only_with_texture_training_consent(tmp_path: Path) -> None:
    show = _show(tmp_path, ["digital-double", "texture-training"])
    base = _base()
    assert subject_adapter(show, "ana", base_sha256=BASE_SHA) is None, "none trained yet"
    path = _save_for(show, "ana", base)
    _save_for(show, "ana", base, when="20270302T120000Z")
    info = subject_adapter(show, "ana", base_sha256=BASE_SHA)
    assert info is not None and info.path.name == "adapter-20270302T120000Z.safetensors", "the newest"
    assert path.parent == show.subject_dir("ana") / "models"
    assert subject_adapter(show, "ben", base_sha256=BASE_SHA) is None, "ana's adapter is never ben's"
    stale = choose_adapter(show, "ana", base_sha256="c" * 64)
    assert stale.info is None and "other base weights" in stale.note
    off = choose_adapter(show, "ana", use=False, base_sha256=BASE_SHA)
    assert off.info is None and "--no-adapter" in off.note
    with Registry.for_show(show) as reg:
        reg.revoke("ana", "P1")
    revoked = choose_adapter(show, "ana", base_sha256=BASE_SHA)
    assert revoked.info is None and "revoked" in revoked.note
    assert subject_adapter(show, "ana", require=False) is not None, "inspection still finds the file"


def test_an_adapter_without_texture_training_in_the_release_is_not_used(tmp_path: Path) -> None:
    show = _show(tmp_path, ["digital-double"])
    _save_for(show, "ana", _base())
    choice = choose_adapter(show, "ana", base_sha256=BASE_SHA)
    assert choice.info is None and "does not allow 'texture-training'" in choice.note


def test_expired_consent_switches_the_adapter_off(tmp_path: Path) -> None:
    show = Show(tmp_path / "show")
    with Registry.for_show(show, create=True, actor="tester") as reg:
        reg.add_subject("ana", "Ana")
        reg.grant("ana", "P1", ["texture-training"], valid_until=reg.today())
    _save_for(show, "ana", _base())
    later = datetime(2099, 1, 1, tzinfo=UTC)
    assert subject_adapter(show, "ana", base_sha256=BASE_SHA) is not None
    assert subject_adapter(show, "ana", base_sha256=BASE_SHA, clock=lambda: later) is None, "expired"


def test_stage_parameters_name_the_adapter_and_pin_its_hash(tmp_path: Path) -> None:
    show = _show(tmp_path, ["texture-training"])
    base = _base()
    _save_for(show, "ana", base)
    params, choice = stage_adapter_params(show, "ana", base_sha256=BASE_SHA)
    assert choice.info is not None and params["adapter_sha256"] == choice.info.sha256
    none, _ = stage_adapter_params(show, "ben", base_sha256=BASE_SHA)
    assert none == {"adapter_sha256": "", "adapter_card": ""}
    assert model_for_stage(base, none) is base
    adapted = model_for_stage(base, params, base_sha256=BASE_SHA)
    assert adapted is not base and adapted.cout == base.cout
    with pytest.raises(InputError, match="changed since"):
        model_for_stage(base, {**params, "adapter_sha256": "d" * 64})


def test_the_differentiable_limits_match_the_delight_ones() -> None:
    rng = np.random.default_rng(0)
    log_s = rng.normal(scale=1.0, size=(2, 3, 16, 16)).astype(np.float32)
    ours = limit_shading_torch(torch.from_numpy(log_s)).numpy()
    theirs = limit_shading(np.ascontiguousarray(log_s.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)
    assert np.abs(ours - theirs).max() < 1e-6
    from lifecast.color import linear_to_srgb

    x = rng.uniform(-0.1, 1.2, size=1000).astype(np.float32)
    assert np.abs(srgb_torch(torch.from_numpy(x)).numpy() - linear_to_srgb(x)).max() < 1e-5


def test_an_adapter_learns_a_colour_shift_the_base_does_not_make() -> None:
    """An untrained base (it returns the fit unchanged) and a fix that warms every texel: the adapter learns it."""
    base = UNet(FEATURES, 3, width=8).eval()
    rng = np.random.default_rng(0)
    tiles = []
    for _ in range(2):
        lit = rng.uniform(0.05, 0.6, size=(3, 32, 32)).astype(np.float32)
        feats = np.zeros((FEATURES, 32, 32), np.float32)
        feats[0:3] = np.log(lit + 1e-3)
        feats[9] = 1.0
        fix = np.clip(lit * np.array([1.08, 1.0, 0.93], np.float32)[:, None, None], 0, 1)
        tiles.append(TrainTile(feats, np.zeros_like(lit), lit, fix, np.ones((32, 32), np.float32)))
    result = train_adapter(base, tiles, AdaptSettings(steps=15, batch=2, crop=16, lr=2e-2))
    first, last = np.mean(result.losses[:2]), np.mean(result.losses[-3:])
    assert last < 0.1 * first, (first, last)  # measured 0.0114 -> 0.0005 (0.045 of it)


def test_the_thread_setting_is_restored() -> None:
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(before + 2):
        raise RuntimeError
    assert torch.get_num_threads() == before


def _two_releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A weights folder with an older release beside the shipped one (the same tensors, other metadata, so
    another hash); returns (older hash, newest hash)."""
    import json

    from safetensors.torch import save_file

    from lifecast.ml import weights
    from lifecast.ml.release import DELIGHT_BASE

    folder = tmp_path / "weights"
    folder.mkdir()
    tensors, meta = weights.load_checked(weights.WEIGHTS_DIR / DELIGHT_BASE)
    (folder / DELIGHT_BASE).write_bytes((weights.WEIGHTS_DIR / DELIGHT_BASE).read_bytes())
    save_file(tensors, str(folder / "delight_base_v0.safetensors"), metadata={**meta, "release": "0"})
    table = {n: weights.sha256_file(folder / n) for n in ("delight_base_v0.safetensors", DELIGHT_BASE)}
    (folder / weights.MANIFEST).write_text(json.dumps(table))
    monkeypatch.setattr(weights, "WEIGHTS_DIR", folder)
    monkeypatch.setattr(weights, "RELEASED_BASES", ("delight_base_v0.safetensors", DELIGHT_BASE))
    return table["delight_base_v0.safetensors"], table[DELIGHT_BASE]


def test_an_adapter_runs_on_the_released_base_it_was_trained_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade, a subject's adapter keeps its base (an older release); unknown bases are ignored."""
    from lifecast.ml.weights import load_delight_model, released_base, shipped_weights_sha256

    older, newest = _two_releases(tmp_path, monkeypatch)
    assert shipped_weights_sha256() == newest
    show = _show(tmp_path, ["texture-training"])
    info = save_adapter(
        _perturbed(_base()),
        models_dir(show, "ana") / "adapter-20270301T120000Z.safetensors",
        {"subject_id": "ana", "project": "P1", "base_sha256": older},
    )
    choice = choose_adapter(show, "ana")
    assert choice.info is not None and choice.info.base_sha256 == older
    assert "older base weights" in choice.note and "lifecast ml adapt --subject ana" in choice.note
    _, meta = load_delight_model(released_base(older))
    assert meta["release"] == "0", "the adapter's own base is loaded"
    strict = choose_adapter(show, "ana", base_sha256=newest)
    assert strict.info is None and "other base weights" in strict.note, "--weights pins the base"
    info.card_path.unlink()
    info.path.unlink()
    _save_for(show, "ana", _base())  # trained on a base no lifecast ships
    assert choose_adapter(show, "ana").info is None
