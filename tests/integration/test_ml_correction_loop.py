"""The artist correction loop end to end, with a simulated artist.

One subject is one procedural skin (:func:`lifecast.ml.skin.random_skin_params`, a fixed seed) on ICT-FaceKit's
neutral head (geometry only; ``../shared/scans``), captured under six lights. Each capture becomes a lifecast asset
(raw bake + the base model's delit albedo), and a simulated artist with a consistent style the base model does not
have corrects each delit albedo: warmer undertone, residual specular pulled down, redness evened. The corrections
are submitted, an adapter is trained on all but the oldest two, and then:

- the held-out error with the adapter is at least 30 % lower than without;
- another subject's delight output is bit-identical before and after, and the base weights' hash is unchanged;
- training needs ``texture-training`` consent (exit 3), and revoking it switches the adapter off;
- ``subject purge`` removes the corrections and the adapter.

Maps are 256 texels a side to keep the module to about a minute on two busy CPU cores.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from lifecast.consent.policy import ConsentError
from lifecast.consent.registry import Registry
from lifecast.consent.show import Show
from lifecast.errors import EXIT_BAD_INPUT, EXIT_NO_CONSENT, EXIT_OK
from lifecast.ml.weights import DELIGHT_BASE, WEIGHTS_DIR, load_delight_model, sha256_file
from tests.unit.test_ml_corrections import run
from tests.unit.test_ml_corrections import write_png as _write_png

SIZE = 256
CAPTURES = 6
HELD_OUT = 2
PROJECT = "P1"


def _blur(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``image`` over ``mask`` only (normalised convolution)."""
    w = mask.astype(np.float32)
    num = cv2.GaussianBlur(image * (w[..., None] if image.ndim == 3 else w), (0, 0), sigma)
    den = np.maximum(cv2.GaussianBlur(w, (0, 0), sigma), 1e-6)
    return np.asarray(num / (den[..., None] if image.ndim == 3 else den), np.float32)


def artist_style(albedo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The simulated artist's fix of a delit ``albedo (s, s, 3)`` linear over ``mask (s, s)``.

    Residual specular pulled down (luminance more than 3 % over its surroundings, at a scale of 1/48 of the map,
    brought down to 3 %), redness evened (the red/green log ratio's blotches, at a scale of 1/24 of the map,
    reduced by 70 %), and a warmer undertone (R x 1.08, B x 0.93).
    """
    s = albedo.shape[0]
    x = np.asarray(albedo, np.float32).copy()
    lum = x @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    excess = np.where(mask, lum / np.maximum(_blur(lum, mask, s / 48), 1e-4) - 1.0, 0.0)
    k = 0.03
    pull = (1 + k) / np.maximum(1 + excess, 1e-6)
    x *= np.where(excess > k, pull, 1.0).astype(np.float32)[..., None]
    ratio = np.log(x[..., 0] + 1e-3) - np.log(x[..., 1] + 1e-3)
    blotch = _blur(ratio, mask, s / 24) - float(ratio[mask].mean())
    x[..., 0] *= np.exp(-0.7 * blotch)
    x *= np.array([1.08, 1.0, 0.93], np.float32)
    x = np.clip(x, 0.0, 1.0)
    x[~mask] = 0.0
    return x


def _make_asset(root: Path, mesh: Any, subject: str, lit: np.ndarray, model: Any) -> np.ndarray:
    """A lifecast asset of one capture as ``lifecast process`` lays it out (raw bake, delit albedo, provenance);
    returns the delit albedo as written."""
    from lifecast.ml.geometry_maps import geometry_maps
    from lifecast.ml.run_delight import delight_texture_set
    from lifecast.ml.weights import shipped_weights_sha256
    from lifecast.usd.asset import export_asset

    raw = _write_png(root / "maps" / "head_lod0_albedo_raw.1001.png", lit)
    geometry = geometry_maps(mesh, SIZE, udims=[1001], ao_samples=16)
    delit = delight_texture_set(model, [raw], geometry).tiles[0].albedo
    out = _write_png(root / "maps" / "head_lod0_albedo.1001.png", delit)
    provenance = {
        "lifecast_version": "test",
        "subject_id": subject,
        "consent_id": "",
        "project": PROJECT,
        "delight": {"weights_sha256": shipped_weights_sha256()},
    }
    export_asset(root, "head", [mesh], albedo="maps/head_lod0_albedo.<UDIM>.png", provenance=provenance)
    return out


@pytest.fixture(scope="module")
def loop(shared_scans: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Six corrections of subject ``ana`` submitted and an adapter trained; subject ``ben``'s delight before."""
    from lifecast.ml.delight import delight_arrays
    from lifecast.ml.skin import random_skin_params, skin_albedo
    from lifecast.ml.training_data import _face, capture
    from lifecast.ml.training_meshes import SOURCES, training_meshes
    from lifecast.uv.udim import face_udims

    tmp = tmp_path_factory.mktemp("loop")
    show = Show(tmp / "show")
    with Registry.for_show(show, create=True, actor="tester") as reg:
        for sid in ("ana", "ben"):
            reg.add_subject(sid, sid.title())
        reg.grant("ana", PROJECT, ["digital-double", "texture-training"])
        reg.grant("ben", PROJECT, ["digital-double"])
    tm = training_meshes(tmp / "cache", size=SIZE, names=("ict-neutral",))[0]
    mesh, _ = SOURCES["ict-neutral"]()
    assert mesh.uvs is not None and mesh.face_uvs is not None
    keep = face_udims(mesh.uvs, mesh.face_uvs) == 1001  # the face and head (the maps' tile); not the neck's 1002
    mesh = mesh.with_(faces=mesh.faces[keep], face_uvs=mesh.face_uvs[keep])
    cov = tm.maps.covered
    model, _ = load_delight_model()
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    base_hash = sha256_file(WEIGHTS_DIR / DELIGHT_BASE)

    def skin(seed: int) -> np.ndarray:
        alb = np.zeros((SIZE, SIZE, 3), np.float32)
        params = random_skin_params(np.random.default_rng(seed))
        alb[cov] = skin_albedo(tm.maps.position[cov], params, _face(tm), texel_size=tm.texel_size)
        return alb

    ana, ben = skin(4242), skin(777)
    ben_lit = capture(tm, 31337, albedo=ben).lit
    ben_before = delight_arrays(model, [ben_lit], [tm.maps])[0].albedo

    codes = []
    for k in range(CAPTURES):
        lit = capture(tm, 100 + k, albedo=ana).lit
        asset = show.subject_dir("ana") / "assets" / f"take{k}"
        out = _make_asset(asset, mesh, "ana", lit, model)
        fix = tmp / f"fix{k}.png"
        _write_png(fix, artist_style(out, cov))
        code, _ = run("correct", "submit", asset, fix, "--subject", "ana", "--show", show.root)
        codes.append(code)
    refused, _ = run("ml", "adapt", "--subject", "ana", "--show", show.root, "--project", "P2", "--steps", "1")
    code, sink = run("ml", "adapt", "--subject", "ana", "--show", show.root, "--steps", "40", "--held-out", "2")
    return {
        "show": show,
        "tmp": tmp,
        "tm": tm,
        "model": model,
        "base_state": base_state,
        "base_hash": base_hash,
        "ben_lit": ben_lit,
        "ben_before": ben_before,
        "submit_codes": codes,
        "refused_code": refused,
        "adapt_code": code,
        "adapt_events": sink.events,
    }


def test_corrections_are_recorded_and_audited(loop: dict[str, Any]) -> None:
    from lifecast.ml.corrections import corrections_dir, list_corrections

    show = loop["show"]
    assert loop["submit_codes"] == [EXIT_OK] * CAPTURES
    stored = list_corrections(corrections_dir(show, "ana"))
    assert len(stored) == CAPTURES
    assert [c.meta["seq"] for c in stored] == list(range(1, CAPTURES + 1)), "oldest first"
    with Registry.for_show(show) as reg:
        actions = [e.action for e in reg.audit_entries("ana")]
        assert reg.verify_audit() == []
    assert actions.count("correction-submit") == CAPTURES
    assert "adapter-trained" in actions


def test_adapter_beats_the_base_model_on_held_out_corrections(loop: dict[str, Any]) -> None:
    from lifecast.ml.adapters import latest_adapter

    show = loop["show"]
    assert loop["refused_code"] == EXIT_NO_CONSENT, "no texture-training consent on P2"
    assert loop["adapt_code"] == EXIT_OK
    info = latest_adapter(show, "ana")
    assert info is not None and info.path.parent == show.subject_dir("ana") / "models"
    card = info.card
    assert len(card["held_out"]) == HELD_OUT and len(card["corrections"]) == CAPTURES - HELD_OUT
    assert not set(card["held_out"]) & set(card["corrections"])
    m = card["metrics"]
    # measured at 256 px, 40 steps: base 0.0137, adapted 0.0048 (65 % lower) on release 2 of the base weights
    # (release 1: 0.0136, 0.0046); the target is 30 % lower
    assert m["adapted_error"] <= 0.7 * m["base_error"], m


def test_adapter_learns_more_than_a_colour_shift(loop: dict[str, Any]) -> None:
    """The best per-channel gain on the base output, fitted on the training corrections, does worse on the
    held-out ones than the adapter: it learnt the spatial part of the style too (specular, redness)."""
    from lifecast.color import linear_to_srgb
    from lifecast.ml.adapters import latest_adapter
    from lifecast.ml.corrections import corrections_dir, list_corrections, load_correction
    from lifecast.ml.run_delight import delight_texture_set

    show, model = loop["show"], loop["model"]
    info = latest_adapter(show, "ana")
    assert info is not None
    by_id = {c.id: c for c in list_corrections(corrections_dir(show, "ana"))}

    def base_and_fix(cid: str) -> tuple[np.ndarray, np.ndarray]:
        data = load_correction(by_id[cid])
        albedo = delight_texture_set(model, data.lit, data.geometry).tiles[0].albedo
        m = data.scored[0]
        return albedo[m].astype(np.float64), data.fix[0][m].astype(np.float64)

    pairs = [base_and_fix(cid) for cid in info.card["corrections"]]
    gain = sum((a * f).sum(axis=0) for a, f in pairs) / sum((a * a).sum(axis=0) for a, _ in pairs)
    errors = []
    for cid in info.card["held_out"]:
        a, f = base_and_fix(cid)
        errors.append(float(np.abs(linear_to_srgb(np.clip(a * gain, 0, 1)) - linear_to_srgb(f)).mean()))
    # measured in a run of this set-up: gain (1.066, 0.988, 0.918); held-out error 0.0055 with the gain alone
    # (on the published 8-bit outputs), 0.0046 with the adapter
    assert info.card["metrics"]["adapted_error"] < float(np.mean(errors)), (gain, errors)


def test_eval_json_reports_both_errors(loop: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, _ = run("ml", "eval", "--subject", "ana", "--show", loop["show"].root, "--json")
    assert code == EXIT_OK
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["held_out"] == HELD_OUT
    assert result["adapted_error"] <= 0.7 * result["base_error"]  # the same figures as the card's, recomputed


def test_other_subjects_and_the_base_weights_are_untouched(loop: dict[str, Any]) -> None:
    import torch

    from lifecast.ml.adapters import subject_adapter
    from lifecast.ml.delight import delight_arrays

    model = loop["model"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, loop["base_state"][k]), f"base parameter {k} changed"
    assert sha256_file(WEIGHTS_DIR / DELIGHT_BASE) == loop["base_hash"]
    assert subject_adapter(loop["show"], "ben") is None
    after = delight_arrays(model, [loop["ben_lit"]], [loop["tm"].maps])[0].albedo
    assert np.array_equal(after, loop["ben_before"]), "subject ben's delight changed"
    fresh, _ = load_delight_model()
    again = delight_arrays(fresh, [loop["ben_lit"]], [loop["tm"].maps])[0].albedo
    assert np.array_equal(again, loop["ben_before"])


def test_revoking_consent_switches_the_adapter_off_and_purge_removes_it(loop: dict[str, Any]) -> None:
    from lifecast.consent.purge import purge_subject
    from lifecast.ml.adapters import choose_adapter, subject_adapter

    show = loop["show"]
    assert subject_adapter(show, "ana") is not None
    with Registry.for_show(show) as reg:
        reg.revoke("ana", PROJECT)
    assert subject_adapter(show, "ana") is None
    choice = choose_adapter(show, "ana")
    assert choice.info is None and "revoked" in choice.note
    code, _ = run("ml", "eval", "--subject", "ana", "--show", show.root)
    assert code == EXIT_NO_CONSENT
    with pytest.raises(ConsentError):
        from lifecast.ml.adapt import eval_subject

        eval_subject(show, "ana")
    models = show.subject_dir("ana") / "models"
    corrections = show.subject_dir("ana") / "corrections"
    ours = [p for d in (models, corrections) for p in d.rglob("*") if p.is_file()]
    assert len(ours) >= CAPTURES * 6 + 2  # six files per correction, the adapter and its card
    wanted = {hashlib.sha256(p.relative_to(show.root).as_posix().encode()).hexdigest() for p in ours}
    purge_subject(show, "ana")
    assert not models.exists() and not corrections.exists()
    with Registry.for_show(show) as reg:
        row = [e for e in reg.audit_entries("ana") if e.action == "subject-purge"][-1]
    listed = {f["path_sha256"] for f in row.details["before"]["files"]}
    assert wanted <= listed, "the purge's inventory lists every correction and adapter file"
    code, _ = run("ml", "adapt", "--subject", "ana", "--show", show.root)
    assert code == EXIT_BAD_INPUT, "the subject is gone"
