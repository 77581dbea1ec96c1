"""``lifecast delight`` end to end on a small mesh, and the bad inputs that must exit 2 with nothing written."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lifecast.cli import main
from lifecast.ml.geometry_maps import geometry_maps
from lifecast.ml.mesh_input import read_uv_mesh
from lifecast.ml.weights import DELIGHT_BASE, WEIGHTS_DIR
from tests.ml_helpers import uv_sphere, write_obj


@pytest.fixture(scope="module")
def lit_sphere(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A UV sphere and a 256 px texture of it lit from one side."""
    folder = tmp_path_factory.mktemp("lit_sphere")
    mesh = uv_sphere(48, 24, radius=0.1)
    (g,) = geometry_maps(mesh, 256, ao_samples=0, cavity=False)
    light = np.array([0.6, 0.6, 0.5]) / np.linalg.norm([0.6, 0.6, 0.5])
    shade = 0.2 + np.maximum(g.normal @ light.astype(np.float32), 0.0)
    srgb = np.clip(np.array([0.75, 0.6, 0.55], np.float32) * shade[..., None] ** (1 / 2.2), 0, 1)
    texture = folder / "sphere_albedo.png"
    cv2.imwrite(str(texture), (srgb * 255).astype(np.uint8)[..., ::-1])
    return write_obj(folder / "sphere.obj", mesh), texture


def _outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def test_delight_writes_albedo_and_shading(lit_sphere: tuple[Path, Path], tmp_path: Path) -> None:
    mesh, texture = lit_sphere
    out = tmp_path / "delit.png"
    assert main(["delight", str(mesh), str(texture), "-o", str(out), "--json"]) == 0
    assert [p.name for p in _outputs(tmp_path)] == ["delit.png", "delit_shading.exr"]
    before = cv2.imread(str(texture)).astype(np.float32)
    after = cv2.imread(str(out)).astype(np.float32)
    (g,) = geometry_maps(read_uv_mesh(mesh), 256, ao_samples=0)
    inner = cv2.erode(g.covered.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    # The light's falloff is gone: the luminance varies far less over the sphere than before.
    assert after[inner].mean(axis=1).std() < 0.35 * before[inner].mean(axis=1).std()  # measured 0.12


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_uvs", "no UVs"),
        ("not_square", "square"),
        ("not_image", "not an image"),
        ("missing_tile", "UDIM"),
        ("bad_weights", "do not match"),
        ("no_mesh", "mesh not found"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    case: str, message: str, lit_sphere: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mesh, texture = lit_sphere
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "delit.png"
    args = ["delight", str(mesh), str(texture), "-o", str(out)]
    if case == "no_uvs":
        m = uv_sphere()
        lines = [f"v {x} {y} {z}" for x, y, z in m.vertices] + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in m.faces]
        (tmp_path / "plain.obj").write_text("\n".join(lines) + "\n")
        args[1] = str(tmp_path / "plain.obj")
    elif case == "not_square":
        cv2.imwrite(str(tmp_path / "wide.png"), np.zeros((64, 128, 3), np.uint8))
        args[2] = str(tmp_path / "wide.png")
    elif case == "not_image":
        (tmp_path / "notes.png").write_text("this is not a PNG")
        args[2] = str(tmp_path / "notes.png")
    elif case == "missing_tile":
        args[2] = str(tmp_path / "albedo.<UDIM>.png")
    elif case == "bad_weights":
        folder = tmp_path / "weights"
        folder.mkdir()
        for f in WEIGHTS_DIR.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        data = bytearray((folder / DELIGHT_BASE).read_bytes())
        data[100] ^= 1
        (folder / DELIGHT_BASE).write_bytes(bytes(data))
        args += ["--weights", str(folder / DELIGHT_BASE)]
    elif case == "no_mesh":
        args[1] = str(tmp_path / "nowhere.obj")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert _outputs(out_dir) == []


def test_inpaint_fills_the_masked_texels_only(lit_sphere: tuple[Path, Path], tmp_path: Path) -> None:
    mesh, texture = lit_sphere
    mask = np.zeros((256, 256), np.uint8)
    mask[100:140, 60:120] = 255
    cv2.imwrite(str(tmp_path / "holes.png"), mask)
    out = tmp_path / "filled.png"
    assert main(["inpaint", str(mesh), str(texture), "--mask", str(tmp_path / "holes.png"), "-o", str(out)]) == 0
    before = cv2.imread(str(texture)).astype(np.int16)
    after = cv2.imread(str(out)).astype(np.int16)
    (g,) = geometry_maps(read_uv_mesh(mesh), 256, ao_samples=0)
    keep = g.covered & (mask == 0)
    assert np.abs(after[keep] - before[keep]).max() <= 1  # known texels kept (one 8-bit step of re-encoding)
    hole = g.covered & (mask > 0)
    # The hole's colour continues the smooth light around it: close to what was there before it was cut.
    assert np.abs(after[hole] - before[hole]).mean() < 8  # measured 4.1 (8-bit levels)


@pytest.mark.parametrize("fill, message", [(0, "marks nothing to fill"), (255, "nothing to inpaint from")])
def test_inpaint_refuses_empty_and_full_masks(
    fill: int, message: str, lit_sphere: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mesh, texture = lit_sphere
    cv2.imwrite(str(tmp_path / "mask.png"), np.full((256, 256), fill, np.uint8))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ["inpaint", str(mesh), str(texture), "--mask", str(tmp_path / "mask.png"), "-o", str(out_dir / "f.png")]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert _outputs(out_dir) == []
