"""The correction store and the adapt / eval commands on small assets (a UV sphere, 64-texel maps).

The assets are laid out as ``lifecast process`` lays them out (``asset.usda`` with the lifecast provenance,
``maps/<name>_lod0_albedo[_raw].<UDIM>.png``); the commands run through their argparse definitions and handlers,
with a :class:`~lifecast.errors.LifecastError` turned into its exit code as ``lifecast.cli.main`` does.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifecast.consent.registry import Registry
from lifecast.consent.show import Show
from lifecast.errors import EXIT_BAD_INPUT, EXIT_NO_CONSENT, EXIT_OK, LifecastError
from lifecast.mesh import TriMesh
from lifecast.ml.adapt import torch_threads
from lifecast.ml.texture_files import encode_for, read_linear, write_image
from lifecast.pipeline.hashing import hash_file
from lifecast.worker.events import CollectingSink, Event
from tests.ml_helpers import uv_sphere

SIZE = 64
PROJECT = "P1"


# ---------------------------------------------------------------------------------------------------- helpers


def parser() -> argparse.ArgumentParser:
    """``correct``, ``ml adapt`` and ``ml eval --subject`` as the CLI wires them."""
    from lifecast.ml.correction_commands import add_adapt_arguments, add_commands, add_eval_subject_arguments

    p = argparse.ArgumentParser(prog="lifecast")
    sub = p.add_subparsers(dest="command", required=True)
    add_commands(sub)
    ml = sub.add_parser("ml").add_subparsers(dest="ml_command", required=True)
    add_adapt_arguments(ml.add_parser("adapt"))
    e = ml.add_parser("eval")
    e.add_argument("--json", action="store_true")
    add_eval_subject_arguments(e)
    return p


def run(*argv: str | Path) -> tuple[int, CollectingSink]:
    """Run a command as ``lifecast.cli.main`` does: a :class:`LifecastError` becomes its exit code."""
    from lifecast.ml.correction_commands import cmd_adapt, cmd_correct, cmd_eval_subject

    args = parser().parse_args([str(a) for a in argv])
    sink = CollectingSink()
    handlers = {"correct": cmd_correct, "adapt": cmd_adapt, "eval": cmd_eval_subject}
    try:
        return handlers[args.command if args.command == "correct" else args.ml_command](args, sink), sink
    except LifecastError as exc:
        sink.emit(Event("error", {"message": str(exc), "exit_code": exc.exit_code}))
        return exc.exit_code, sink


def two_tile_sphere() -> TriMesh:
    """Two UV spheres side by side, the second in UDIM tile 1002."""
    a = uv_sphere(24, 12)
    assert a.uvs is not None and a.face_uvs is not None
    n, k = len(a.vertices), len(a.uvs)
    return TriMesh(
        np.concatenate([a.vertices, a.vertices + np.array([0.3, 0, 0], np.float32)]),
        np.concatenate([a.faces, a.faces + n]).astype(np.int32),
        uvs=np.concatenate([a.uvs, a.uvs + np.array([1.0, 0.0], np.float32)]),
        face_uvs=np.concatenate([a.face_uvs, a.face_uvs + k]).astype(np.int32),
    )


def write_png(path: Path, linear: np.ndarray) -> np.ndarray:
    """Write ``linear`` as 8-bit sRGB (or half EXR by suffix); returns it read back (linear)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, encode_for(path, linear))
    return read_linear(path)


def make_asset(
    root: Path,
    subject: str = "ana",
    *,
    tiles: Sequence[int] = (1001,),
    lifecast: bool = True,
    delit: bool = True,
    seed: int = 0,
) -> dict[int, np.ndarray]:
    """An asset folder as ``lifecast process`` makes it; returns the delit albedo of each tile (as written)."""
    from lifecast.ml.weights import shipped_weights_sha256
    from lifecast.usd.asset import export_asset

    mesh = two_tile_sphere() if len(tiles) > 1 else uv_sphere(24, 12)
    rng = np.random.default_rng(seed)
    outputs = {}
    for u in tiles:
        lit = rng.uniform(0.15, 0.7, size=(SIZE, SIZE, 3)).astype(np.float32)
        if delit:
            write_png(root / "maps" / f"head_lod0_albedo_raw.{u}.png", lit)
        outputs[u] = write_png(root / "maps" / f"head_lod0_albedo.{u}.png", lit * np.float32(0.9))
    provenance: dict[str, Any] = {"subject_id": subject, "project": PROJECT, "consent_id": "c-test"}
    if lifecast:
        provenance |= {"lifecast_version": "test", "delight": {"weights_sha256": shipped_weights_sha256()}}
    export_asset(root, "head", [mesh], albedo="maps/head_lod0_albedo.<UDIM>.png", provenance=provenance)
    return outputs


def fix_of(output: np.ndarray, box: tuple[slice, slice] = (slice(20, 30), slice(10, 24))) -> np.ndarray:
    """The output with one box brightened 30 %."""
    fix = output.copy()
    fix[box] = np.clip(fix[box] * 1.3, 0, 1)
    return fix


def new_show(tmp_path: Path, uses: Sequence[str] = ("digital-double", "texture-training")) -> Show:
    show = Show(tmp_path / "show")
    with Registry.for_show(show, create=True, actor="tester") as reg:
        reg.add_subject("ana", "Ana")
        reg.add_subject("ben", "Ben")
        reg.grant("ana", PROJECT, list(uses))
        reg.grant("ben", PROJECT, ["digital-double"])
    return show


def audit_rows(show: Show) -> list[Any]:
    with Registry.for_show(show) as reg:
        return reg.audit_entries()


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LIFECAST_SHOW", raising=False)
    monkeypatch.delenv("LIFECAST_PROJECT", raising=False)
    monkeypatch.setenv("LIFECAST_USER", "artist1")
    with torch_threads(1):
        yield


# ---------------------------------------------------------------------------------------------------- submit


def test_a_correction_is_recorded_with_inputs_output_fix_and_mask(tmp_path: Path) -> None:
    from lifecast.ml.corrections import CHANGE_THRESHOLD, corrections_dir, list_corrections, load_correction
    from lifecast.ml.geometry_maps import geometry_maps

    show = new_show(tmp_path)
    asset = show.subject_dir("ana") / "assets" / "head"
    out = make_asset(asset)[1001]
    fix = fix_of(out)
    fixed = write_png(tmp_path / "fixed.exr", fix)  # half-float EXR: untouched texels differ by under 0.5 / 255
    code, sink = run("correct", "submit", asset, tmp_path / "fixed.exr", "--subject", "ana", "--show", show.root)
    assert code == EXIT_OK
    (c,) = list_corrections(corrections_dir(show, "ana"))
    assert c.path.parent == show.subject_dir("ana") / "corrections"
    assert sorted(p.name for p in c.path.iterdir()) == [
        "changed.1001.png",
        "correction.json",
        "fix.1001.exr",
        "geometry.1001.npz",
        "lit.1001.png",
        "output.1001.png",
    ]
    m = c.meta
    assert m["subject_id"] == "ana" and m["project"] == PROJECT and m["actor"] == "artist1" and m["created_at"]
    assert m["tiles"] == [1001] and m["size"] == SIZE and m["work_size"] == SIZE
    assert m["weights_sha256"] and m["asset"]["asset_usda_sha256"] == hash_file(asset / "asset.usda")
    assert m["asset"]["mesh"]["sha256"] == hash_file(asset / "geo.usdc")
    assert (c.path / "lit.1001.png").read_bytes() == (asset / "maps" / "head_lod0_albedo_raw.1001.png").read_bytes()
    assert all(hash_file(c.path / name) == m["sha256"][key] for key, name in m["files"].items())

    data = load_correction(c)
    box = np.zeros((SIZE, SIZE), bool)
    box[20:30, 10:24] = True
    assert np.array_equal(data.changed[0], box), "the changed region is the box the artist painted"
    assert np.abs(data.fix[0] - fixed).max() == 0 and CHANGE_THRESHOLD < 0.01
    expected = geometry_maps(uv_sphere(24, 12), SIZE, udims=[1001], ao_samples=16)[0]
    assert np.array_equal(data.geometry[0].covered, expected.covered), "the asset's LOD0 mesh, read from USD"
    cov = expected.covered
    assert np.abs(data.geometry[0].normal[cov] - expected.normal[cov]).max() < 2e-3  # float16 storage
    rows = [e for e in audit_rows(show) if e.action == "correction-submit"]
    assert len(rows) == 1 and rows[0].details["correction_id"] == c.id and rows[0].subject_id == "ana"
    assert rows[0].actor == "artist1"
    assert sink.of_type("done")[-1].data["ok"]
    assert sink.of_type("stage_end")[-1].data["summary"]["correction_id"] == c.id


def test_a_udim_set_is_recorded_tile_by_tile(tmp_path: Path) -> None:
    from lifecast.ml.corrections import corrections_dir, list_corrections

    show = new_show(tmp_path)
    asset = show.subject_dir("ana") / "assets" / "head"
    outs = make_asset(asset, tiles=(1001, 1002))
    write_png(tmp_path / "fix.1001.png", outs[1001])  # tile 1001 untouched
    write_png(tmp_path / "fix.1002.png", fix_of(outs[1002]))
    code, _ = run("correct", "submit", asset, tmp_path / "fix.<UDIM>.png", "--subject", "ana", "--show", show.root)
    assert code == EXIT_OK
    (c,) = list_corrections(corrections_dir(show, "ana"))
    assert c.tiles == [1001, 1002]
    assert c.meta["changed_fraction"]["1001"] == 0.0 and c.meta["changed_fraction"]["1002"] > 0.03


def test_without_a_show_the_correction_stays_with_the_asset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asset = tmp_path / "head"
    out = make_asset(asset)[1001]
    write_png(tmp_path / "fix.png", fix_of(out))
    code, _ = run("correct", "submit", asset, tmp_path / "fix.png", "--subject", "ana")
    assert code == EXIT_OK
    stored = list((asset / ".lifecast" / "corrections").iterdir())
    assert len(stored) == 1 and (stored[0] / "correction.json").is_file()
    assert "adapters need a show" in capsys.readouterr().out


def test_a_show_is_found_from_the_asset_folder(tmp_path: Path) -> None:
    show = new_show(tmp_path)
    asset = show.subject_dir("ana") / "assets" / "head"
    write_png(tmp_path / "fix.png", fix_of(make_asset(asset)[1001]))
    code, _ = run("correct", "submit", asset, tmp_path / "fix.png", "--subject", "ana")
    assert code == EXIT_OK
    assert len(list((show.subject_dir("ana") / "corrections").iterdir())) == 1
    assert not (asset / ".lifecast").exists()


def _bad_case(case: str, tmp_path: Path, show: Show) -> tuple[Path, Path, str]:
    """``(asset, fix, subject)`` of one kind of bad input."""
    asset = show.subject_dir("ana") / "assets" / "head"
    subject = "ana"
    fix = tmp_path / "fix.png"
    if case == "size":
        out = make_asset(asset)[1001]
        write_png(fix, fix_of(out)[::2, ::2])
    elif case == "one file for two tiles":
        out = make_asset(asset, tiles=(1001, 1002))[1002]
        write_png(fix, fix_of(out))
    elif case == "a tile the asset lacks":
        outs = make_asset(asset, tiles=(1001, 1002))
        for u in (1001, 1002, 1003):
            write_png(tmp_path / f"fix.{u}.png", fix_of(outs[1002]))
        fix = tmp_path / "fix.<UDIM>.png"
    elif case == "not made by lifecast":
        write_png(fix, fix_of(make_asset(asset, lifecast=False)[1001]))
    elif case == "not an asset":
        asset.mkdir(parents=True)
        write_png(fix, np.full((SIZE, SIZE, 3), 0.5, np.float32))
    elif case == "not delit":
        write_png(fix, fix_of(make_asset(asset, delit=False)[1001]))
    elif case == "unknown subject":
        asset = show.root / "elsewhere" / "head"
        write_png(fix, fix_of(make_asset(asset, subject="zed")[1001]))
        subject = "zed"
    elif case == "another subject's asset":
        write_png(fix, fix_of(make_asset(asset)[1001]))
        subject = "ben"
    elif case == "unchanged":
        make_asset(asset)
        shutil.copyfile(asset / "maps" / "head_lod0_albedo.1001.png", fix)
    elif case == "not an image type the store takes":
        make_asset(asset)
        fix = tmp_path / "fix.jpg"
        fix.write_bytes(b"x")
    else:  # pragma: no cover
        raise AssertionError(case)
    return asset, fix, subject


#: Each bad input and what its one line says.
BAD_CASES = {
    "size": "must keep the texture's size",
    "one file for two tiles": "<UDIM>",
    "a tile the asset lacks": "tiles the asset does not (1003",
    "not made by lifecast": "not made by lifecast",
    "not an asset": "no asset.usda",
    "not delit": "not delit",
    "unknown subject": "no subject 'zed'",
    "another subject's asset": "of subject 'ana', not 'ben'",
    "unchanged": "unchanged",
    "not an image type the store takes": "PNG, EXR or TIFF",
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_refused_with_one_line_and_nothing_recorded(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    show = new_show(tmp_path)
    asset, fix, subject = _bad_case(case, tmp_path, show)
    rows_before = len(audit_rows(show))
    capsys.readouterr()
    code, sink = run("correct", "submit", asset, fix, "--subject", subject, "--show", show.root)
    assert code == EXIT_BAD_INPUT, case
    (error,) = sink.of_type("error")
    assert BAD_CASES[case] in error.data["message"] and "\n" not in error.data["message"]
    assert not sink.of_type("done"), "no success reported"
    for sid in ("ana", "ben"):
        folder = show.subject_dir(sid) / "corrections"
        assert not folder.exists() or not any(folder.iterdir()), case
    assert not (asset / ".lifecast").exists()
    assert len(audit_rows(show)) == rows_before, "no audit row for a refused input"


# ---------------------------------------------------------------------------------------------------- adapt / eval


def _submit(show: Show, tmp_path: Path, count: int, subject: str = "ana") -> None:
    for k in range(count):
        asset = show.subject_dir(subject) / "assets" / f"take{k}"
        out = make_asset(asset, subject, seed=k)[1001]
        write_png(tmp_path / f"fix{k}.png", fix_of(out) * np.array([1.05, 1.0, 0.95], np.float32))
        code, _ = run("correct", "submit", asset, tmp_path / f"fix{k}.png", "--subject", subject, "--show", show.root)
        assert code == EXIT_OK


def test_adapt_needs_texture_training_consent_and_trains_nothing_without(tmp_path: Path) -> None:
    show = new_show(tmp_path, uses=("digital-double",))
    _submit(show, tmp_path, 2)
    code, _ = run("ml", "adapt", "--subject", "ana", "--show", show.root, "--steps", "1")
    assert code == EXIT_NO_CONSENT
    assert not (show.subject_dir("ana") / "models").exists()
    refused = [e for e in audit_rows(show) if e.action == "refused"]
    assert refused and refused[-1].details["use"] == "texture-training"
    assert refused[-1].details["project"] == PROJECT, "the project the corrections were made under"


@pytest.mark.parametrize(
    ("corrections", "extra", "message"),
    [(0, (), "no corrections"), (1, (), "at least 2"), (2, ("--held-out", "2"), "at least 3")],
)
def test_adapt_refuses_too_few_corrections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], corrections: int, extra: tuple[str, ...], message: str
) -> None:
    from lifecast.errors import InputError
    from lifecast.ml.adapt import AdaptSettings, adapt_subject

    show = new_show(tmp_path)
    _submit(show, tmp_path, corrections)
    code, _ = run("ml", "adapt", "--subject", "ana", "--show", show.root, "--steps", "1", *extra)
    assert code == EXIT_BAD_INPUT
    held = int(extra[1]) if extra else None
    with pytest.raises(InputError, match=message):
        adapt_subject(show, "ana", settings=AdaptSettings(steps=1, held_out=held))
    assert not (show.subject_dir("ana") / "models").exists()


def test_adapt_without_a_show_or_for_an_unknown_subject_is_refused(tmp_path: Path) -> None:
    assert run("ml", "adapt", "--subject", "ana")[0] == EXIT_BAD_INPUT
    show = new_show(tmp_path)
    assert run("ml", "adapt", "--subject", "zed", "--show", show.root)[0] == EXIT_BAD_INPUT
    assert run("ml", "eval", "--subject", "ana", "--show", show.root)[0] == EXIT_BAD_INPUT, "no adapter yet"


def test_adapt_then_eval_and_delight_with_the_adapter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lifecast.ml.adapters import latest_adapter
    from lifecast.ml.correction_commands import delight_model_for
    from lifecast.ml.corrections import corrections_dir, list_corrections
    from lifecast.ml.weights import DELIGHT_BASE, WEIGHTS_DIR, load_delight_model, sha256_file

    base_hash = sha256_file(WEIGHTS_DIR / DELIGHT_BASE)
    show = new_show(tmp_path)
    _submit(show, tmp_path, 3)
    _submit(show, tmp_path, 2, subject="ben")
    code, sink = run("ml", "adapt", "--subject", "ana", "--show", show.root, "--steps", "2", "--held-out", "1")
    assert code == EXIT_OK
    assert sha256_file(WEIGHTS_DIR / DELIGHT_BASE) == base_hash, "the base weights were never written"
    info = latest_adapter(show, "ana")
    assert info is not None and info.sha256 == sha256_file(info.path)
    ana = [c.id for c in list_corrections(corrections_dir(show, "ana"))]
    ben = {c.id for c in list_corrections(corrections_dir(show, "ben"))}
    assert info.card["held_out"] == ana[:1] and info.card["corrections"] == ana[1:], "the oldest is held out"
    assert not ben & set(info.card["corrections"]), "ana's adapter never sees ben's corrections"
    assert info.card["settings"]["steps"] == 2 and info.card["metrics"]["held_out"] == 1
    assert sink.of_type("done")[-1].data["outputs"]["adapter"] == str(info.path)
    trained = [e for e in audit_rows(show) if e.action == "adapter-trained"]
    assert len(trained) == 1 and trained[0].details["adapter_sha256"] == info.sha256

    capsys.readouterr()
    assert run("ml", "eval", "--subject", "ana", "--show", show.root, "--json")[0] == EXIT_OK
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["held_out"] == 1 and result["adapter_sha256"] == info.sha256
    assert result["base_error"] == info.card["metrics"]["base_error"], "recomputed: the same figure"
    assert result["adapted_error"] == info.card["metrics"]["adapted_error"]

    model, _ = load_delight_model()
    ns = argparse.Namespace(subject="ana", show=show.root, no_adapter=False, weights=None, json=True)
    adapted, choice = delight_model_for(model, ns, CollectingSink())
    assert adapted is not model and choice.info is not None and choice.info.sha256 == info.sha256
    off, choice = delight_model_for(model, argparse.Namespace(**{**vars(ns), "no_adapter": True}), CollectingSink())
    assert off is model and "--no-adapter" in choice.note
    other, choice = delight_model_for(model, argparse.Namespace(**{**vars(ns), "subject": "ben"}), CollectingSink())
    assert other is model and choice.info is None

    data = bytearray(info.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    info.path.write_bytes(bytes(data))
    assert run("ml", "eval", "--subject", "ana", "--show", show.root)[0] == EXIT_BAD_INPUT, "a changed adapter"


def test_the_command_definitions_stay_light_and_agree_with_the_settings() -> None:
    import subprocess
    import sys

    from lifecast.ml.adapt import AdaptSettings
    from lifecast.ml.correction_commands import ADAPT_DEFAULTS

    d = AdaptSettings()
    assert {"steps": d.steps, "rank": d.rank, "seed": d.seed, "threads": d.threads} == ADAPT_DEFAULTS
    code = (
        "import argparse, sys; import lifecast.ml.correction_commands as c; "
        "p = argparse.ArgumentParser(); c.add_commands(p.add_subparsers()); c.add_adapt_arguments(p); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", "building the parsers must not import torch (lifecast --help stays fast)"
