"""The PNG encoder behind every baked map: lossless for each layout and depth, with ISA-L and with zlib."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lifecast.bake.images import encode_png, write_png
from tests.conftest import require_optional

SHAPES = [(1, 1), (5, 7), (5, 7, 3), (5, 7, 4), (64, 33, 3)]


def _decode(path: Path) -> np.ndarray:
    back = np.asarray(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))
    if back.ndim == 3:
        back = back[..., [2, 1, 0, 3][: back.shape[2]]]  # OpenCV's BGR(A) to RGB(A)
    return back


def _random_image(shape: tuple[int, ...], dtype: type[np.generic], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("without_isal", [False, True], ids=["default", "zlib"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", SHAPES)
def test_png_round_trips_through_opencv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: tuple[int, ...], dtype: type[np.generic], without_isal: bool
) -> None:
    if without_isal:
        monkeypatch.setitem(sys.modules, "isal", None)  # the import fails: the stdlib zlib path
    image = _random_image(shape, dtype)
    path = tmp_path / "map.png"
    write_png(path, image)
    back = _decode(path)
    assert back.dtype == image.dtype
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("shape", [(9, 4), (9, 4, 3), (9, 4, 4)])
def test_8bit_png_reads_back_in_pillow(tmp_path: Path, shape: tuple[int, ...]) -> None:
    image = _random_image(shape, np.uint8, seed=1)
    write_png(tmp_path / "a.png", image)
    with Image.open(tmp_path / "a.png") as back:
        np.testing.assert_array_equal(np.asarray(back), image)


def test_isal_and_zlib_encode_the_same_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    require_optional("isal", "isal (a core dependency) is not installed: only the zlib path exists here")
    # A smooth 16-bit normal-map-like image, as the baker writes.
    y, x = np.mgrid[0:256, 0:200].astype(np.float32) / 256
    image = (np.stack([np.sin(x * 3), np.cos(y * 2), x * y], axis=2) * 0.5 + 0.5) * 65535
    image = image.astype(np.uint16)
    fast = encode_png(image)
    monkeypatch.setitem(sys.modules, "isal", None)
    slow = encode_png(image)
    for data in (fast, slow):
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
        np.testing.assert_array_equal(decoded, image)
    assert len(fast) < image.nbytes and len(slow) < image.nbytes


def test_png_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_png(tmp_path / "x.png", np.zeros((2, 2), np.float32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be"):
        write_png(tmp_path / "x.png", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="must be"):
        write_png(tmp_path / "x.png", np.zeros((0, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\.png"):
        write_png(tmp_path / "x.jpg", np.zeros((2, 2), np.uint8))
    assert not list(tmp_path.iterdir())
