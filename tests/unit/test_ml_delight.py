"""The delight machinery: the lighting fit, tiled inference, upsampling, geometry maps, weights checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lifecast.errors import InputError
from lifecast.ml.delight import delight_arrays, downsample_covered, shading_percentiles, upsample_bands
from lifecast.ml.features import FEATURES
from lifecast.ml.geometry_maps import geometry_maps
from lifecast.ml.metrics import albedo_scores
from lifecast.ml.sh import fit_shading, sh_basis
from lifecast.ml.tiling import margin, run_tiled
from lifecast.ml.unet import UNet
from lifecast.ml.weights import DELIGHT_BASE, MANIFEST, WEIGHTS_DIR, load_checked, load_delight_model, sha256_file
from tests.ml_helpers import lit_sphere, uv_sphere


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_sh_fit_recovers_a_known_lighting() -> None:
    rng = np.random.default_rng(0)
    n = _unit(rng, 20000)
    ao = rng.uniform(0.5, 1.0, 20000).astype(np.float32)
    coeffs = np.zeros((9, 3), np.float32)
    coeffs[0] = 2.0
    coeffs[1:4] = rng.normal(scale=0.4, size=(3, 3))
    albedo = np.array([0.5, 0.35, 0.3], np.float32)
    lit = albedo * ao[:, None] * (sh_basis(n) @ coeffs)
    fit = fit_shading(lit, n, ao)
    shading = fit.shading(n, ao)
    implied = lit / shading  # a constant albedo times the fit's mean-1 gauge
    spread = implied.std(axis=0) / implied.mean(axis=0)
    assert spread.max() < 2e-3  # measured 3e-5 (the ridge)
    assert np.allclose(shading.mean(axis=0), 1.0, atol=0.01)  # measured 0.996-0.999 (the floor at MIN_SHADING)


def test_sh_fit_down_weights_highlights() -> None:
    rng = np.random.default_rng(1)
    n = _unit(rng, 20000)
    ao = np.ones(20000, np.float32)
    truth = 1.0 + 0.5 * n[:, 1]
    lit = np.repeat(truth[:, None], 3, axis=1).astype(np.float32)
    shine = rng.random(20000) < 0.05
    lit[shine] *= 4.0  # specular spots
    fit = fit_shading(lit, n, ao)
    ratio = fit.shading(n, ao)[:, 0] / truth
    assert ratio[~shine].std() < 0.02  # measured 0.006; a plain least-squares fit is pulled 0.04 by the spots


def test_tiles_agree_with_one_pass() -> None:
    torch.manual_seed(0)
    model = UNet(FEATURES, 3, width=8)
    torch.nn.init.normal_(model.head.weight, std=0.1)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(FEATURES, 200, 172)).astype(np.float32)
    tiled = run_tiled(model, x, tile=64)
    m = margin()
    padded = np.pad(x, ((0, 0), (m, m + 56), (m, m + 84)))  # zero context beyond the map, as each tile reads
    with torch.no_grad():
        whole = model(torch.from_numpy(padded)[None])[0].numpy()[:, m : m + 200, m : m + 172]
    assert np.abs(tiled - whole).max() < 1e-4  # float rounding only (measured 2e-6)


def test_upsampling_in_bands_equals_one_resize() -> None:
    rng = np.random.default_rng(3)
    small = rng.normal(size=(64, 64, 3)).astype(np.float32)
    bands = np.concatenate([b for _, b in upsample_bands(small, 256, band=40)])
    whole = cv2.resize(small, (256, 256), interpolation=cv2.INTER_LINEAR)
    assert np.abs(bands - whole).max() < 1e-5


def test_geometry_maps_of_a_sphere() -> None:
    mesh = uv_sphere(48, 24, radius=0.1)
    (tile,) = geometry_maps(mesh, 128, ao_samples=8)
    cov = tile.covered
    assert 0.8 < cov.mean() < 0.95
    radial = tile.position[cov] / np.linalg.norm(tile.position[cov], axis=1, keepdims=True)
    assert np.einsum("ij,ij->i", radial, tile.normal[cov]).min() > 0.99
    assert tile.ao[cov].mean() > 0.97  # a convex sphere occludes nothing (rays leave from a hair above)
    assert (tile.face[~cov] == -1).all()


def test_no_uvs_is_refused() -> None:
    mesh = uv_sphere().with_(uvs=None, face_uvs=None)
    with pytest.raises(InputError, match="no UVs"):
        geometry_maps(mesh, 64)


def test_delight_removes_a_directional_light_on_a_sphere() -> None:
    """The fit alone (``model=None``) already removes a smooth light; the shipped model must not undo that."""
    g, albedo, shading = lit_sphere(0.25, seed=4)
    cov = g.covered
    lit = albedo * shading[..., None]
    lit_score = albedo_scores(lit, albedo, cov)["psnr"]
    fit_only = delight_arrays(None, [lit], [g])[0].albedo
    model, _ = load_delight_model()
    delit = delight_arrays(model, [lit], [g])[0].albedo
    fit_score = albedo_scores(fit_only, albedo, cov)["psnr"]
    model_score = albedo_scores(delit, albedo, cov)["psnr"]
    assert fit_score > lit_score + 8.0  # measured lit 19.3 dB, fit 31.0 dB
    assert model_score > lit_score + 8.0


def test_changed_weights_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, folder)
    path = folder / DELIGHT_BASE
    load_checked(path)  # as shipped: fine
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="do not match their recorded SHA-256"):
        load_checked(path)
    (folder / MANIFEST).unlink()
    with pytest.raises(InputError, match="no recorded hash"):
        load_checked(path)
    with pytest.raises(InputError, match="not found"):
        load_checked(folder / "missing.safetensors")


def test_shipped_weights_match_their_manifest_and_are_small() -> None:
    path = WEIGHTS_DIR / DELIGHT_BASE
    assert path.stat().st_size < 20 * 1024 * 1024
    import json

    assert json.loads((WEIGHTS_DIR / MANIFEST).read_text())[DELIGHT_BASE] == sha256_file(path)
    assert (WEIGHTS_DIR / "MODEL_CARD.md").is_file()


def test_cuda_agrees_with_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: the delight's CPU/CUDA agreement is not tested")
    mesh = uv_sphere(48, 24, radius=0.1)
    (g,) = geometry_maps(mesh, 256, ao_samples=0)
    rng = np.random.default_rng(5)
    lit = np.where(g.covered[..., None], rng.uniform(0.1, 0.6, (256, 256, 3)), 0).astype(np.float32)
    model, _ = load_delight_model()
    cpu = delight_arrays(model, [lit], [g])[0].albedo
    cuda_model, _ = load_delight_model(device="cuda")
    gpu = delight_arrays(cuda_model, [lit], [g], device="cuda")[0].albedo
    assert np.abs(cpu - gpu)[g.covered].max() < 1e-3


def test_each_lod_predicts_its_shading_at_a_size_halved_like_its_texture() -> None:
    from lifecast.pipeline.stages.delight import lod_work_size

    assert [lod_work_size(1024, i, 4096 >> i) for i in range(4)] == [1024, 512, 256, 256]
    assert lod_work_size(1024, 0, 512) == 512  # never above the texture's own size


def test_the_maps_beside_an_albedo_keep_an_asset_name_that_holds_albedo() -> None:
    from lifecast.pipeline.stages.delight import sibling_map

    assert sibling_map("head_lod0_albedo.<UDIM>.png", "shading", ".exr") == "head_lod0_shading.<UDIM>.exr"
    assert sibling_map("x_albedo_lod1_albedo.1001.png", "holes", ".png") == "x_albedo_lod1_holes.1001.png"
    assert sibling_map("x_albedo_lod1_albedo.1001.png", "albedo_raw", ".png") == "x_albedo_lod1_albedo_raw.1001.png"


def test_delight_of_encoded_rows_in_bands_equals_the_whole_float_image() -> None:
    """8-bit sRGB codes decoded band by band (8 rows: issue #14's 8K path) against the linear float texture whole."""
    from lifecast.color import srgb_to_linear

    mesh = uv_sphere(32, 16, radius=0.1)
    (g,) = geometry_maps(mesh, 64, ao_samples=0)
    rng = np.random.default_rng(11)
    codes = cv2.GaussianBlur(rng.integers(0, 256, (256, 256, 3)).astype(np.uint8), (0, 0), 2)
    covered = cv2.resize(g.covered.astype(np.uint8), (256, 256), interpolation=cv2.INTER_NEAREST) > 0

    def decode(rows: np.ndarray) -> np.ndarray:
        return np.asarray(srgb_to_linear(rows.astype(np.float32) / 255.0), np.float32)

    (whole,) = delight_arrays(None, [decode(codes)], [g], [covered], band=256)
    (banded,) = delight_arrays(None, [codes], [g], [covered], decode=decode, band=8)
    assert np.abs(banded.albedo - whole.albedo).max() < 1e-6
    assert np.array_equal(banded.shading, whole.shading)
    assert np.abs(whole.albedo - decode(codes)).max() > 0.01  # the shading was divided out
    expected = np.percentile(whole.shading[covered].astype(np.float32), [5, 50, 95])
    got = shading_percentiles([banded.shading], [covered], (5, 50, 95), band=8)
    assert np.allclose(got, expected, rtol=0, atol=1e-6)


def test_the_covered_average_in_bands_equals_one_pass() -> None:
    rng = np.random.default_rng(12)
    image = rng.random((96, 96, 3), dtype=np.float32)
    covered = rng.random((96, 96)) < 0.7
    whole = downsample_covered(image, covered, 24, band=96)
    assert np.array_equal(downsample_covered(image, covered, 24, band=4), whole)
    assert np.array_equal(downsample_covered(image, covered, 24, band=9), whole)  # rounded to whole blocks
    assert downsample_covered(image, covered, 40, band=8).shape == (40, 40, 3)  # not whole blocks: one pass


@pytest.mark.parametrize(("h", "size", "band"), [(512, 256, None), (1024, 256, 100), (512, 256, 6), (600, 256, None)])
def test_the_covered_average_is_one_pass_whatever_the_band(h: int, size: int, band: int | None) -> None:
    """A texture smaller than a band (a 512 px LOD) once came back with the band's row count (1024 x 256)."""
    import cv2

    from lifecast.ml.delight import downsample_covered

    rng = np.random.default_rng(h)
    image = rng.random((h, h, 3)).astype(np.float32)
    covered = rng.random((h, h)) > 0.3
    w = covered.astype(np.float32)
    num = cv2.resize(image * w[..., None], (size, size), interpolation=cv2.INTER_AREA)
    den = cv2.resize(w, (size, size), interpolation=cv2.INTER_AREA)
    expected = num / np.maximum(den, 1e-6)[..., None]
    got = downsample_covered(image, covered, size, band=band)
    assert got.shape == (size, size, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)


#: The first release's hash: released weights never change (an adapter trained on them must keep its look).
V1_SHA256 = "938cc41d706c6721da34f2f1f0c5b6ed2375850951881ead71e4e9758a931394"


def test_every_released_base_ships_unchanged_with_its_card() -> None:
    import json

    from lifecast.ml.release import CARDS, RELEASED_BASES
    from lifecast.ml.weights import released_base

    manifest = json.loads((WEIGHTS_DIR / MANIFEST).read_text())
    assert manifest[RELEASED_BASES[0]] == V1_SHA256, "a released base was changed"
    assert RELEASED_BASES[-1] == DELIGHT_BASE, "new work runs on the newest release"
    for name in RELEASED_BASES:
        path = WEIGHTS_DIR / name
        assert manifest[name] == sha256_file(path)
        assert released_base(manifest[name]) == path
        assert (WEIGHTS_DIR / CARDS[name]).is_file(), f"{name} has no card"
        load_delight_model(path)
    with pytest.raises(InputError, match="no base weights with SHA-256"):
        released_base("c" * 64)


def test_train_base_never_overwrites_a_released_base(tmp_path: Path) -> None:
    from lifecast.ml.base_training import train_base

    before = sha256_file(WEIGHTS_DIR / DELIGHT_BASE)
    with pytest.raises(InputError, match="released and never changes"):
        train_base(steps=1, cache_dir=tmp_path / "cache")
    assert sha256_file(WEIGHTS_DIR / DELIGHT_BASE) == before
    assert not (tmp_path / "cache").exists(), "refused before any work"


def test_a_release_carries_its_brightening_limit(tmp_path: Path) -> None:
    """Release 1 brightened at most 5x and keeps doing so (an adapter trained on it keeps its look); a newer
    release records its own limit in its weights, and an adapter or a merged copy keeps the base's."""
    from lifecast.ml.adapters import AdaptedUNet
    from lifecast.ml.release import DEFAULT_MIN_SHADING, RELEASED_BASES
    from lifecast.ml.weights import save_weights

    v1, v1_meta = load_delight_model(WEIGHTS_DIR / RELEASED_BASES[0])
    assert "min_shading" not in v1_meta and v1.min_shading == 0.2
    newest, meta = load_delight_model()
    assert float(meta["min_shading"]) == newest.min_shading == DEFAULT_MIN_SHADING
    adapted = AdaptedUNet(newest, rank=2)
    assert adapted.min_shading == adapted.merged().min_shading == newest.min_shading
    model = UNet(FEATURES, 3, width=4, min_shading=0.05)
    save_weights(model, tmp_path / "w.safetensors", {})
    assert load_delight_model(tmp_path / "w.safetensors")[0].min_shading == 0.05


@pytest.mark.parametrize("min_shading", [0.2, 0.1])
def test_the_model_brightens_a_texel_at_most_its_limit(min_shading: float) -> None:
    """A model that reads every texel as deep shadow lifts the texture by its limit and no more."""
    mesh = uv_sphere(32, 16, radius=0.1)
    (g,) = geometry_maps(mesh, 64, ao_samples=0)
    lit = np.where(g.covered[..., None], np.float32(0.05), 0.0).astype(np.float32)
    model = UNet(FEATURES, 3, width=4, min_shading=min_shading)
    assert model.head.bias is not None
    with torch.no_grad():
        model.head.bias.fill_(-8.0)  # a shading of e^-8 of the fit
    albedo = delight_arrays(model, [lit], [g])[0].albedo[g.covered]
    assert np.allclose(albedo, 0.05 / min_shading, rtol=1e-4)
