"""The panel and the texture model stages (delight, inpaint): the bake step's switches, its jobs, the files it finds.

No Qt: the controller with a fake host and worker, and the core's own option checks for the jobs it builds.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hosts.plugin_paths import add_plugin_paths

add_plugin_paths()

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.steps import step_named  # noqa: E402
from lifecast_panel.textures import find_albedo_maps  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402


@pytest.fixture
def controller(tmp_path: Path) -> PanelController:
    scan = tmp_path / "head.ply"
    scan.write_text("ply\n")
    c = PanelController(FakeHost(), FakeWorker())
    c.set_scan(scan, tmp_path / "out")
    return c


@pytest.mark.parametrize(
    ("delight", "inpaint", "bake_stops_after"),
    [(True, True, "inpaint"), (True, False, "delight"), (False, True, "inpaint"), (False, False, "texture")],
)
def test_the_switches_reach_every_job_and_the_bake_step_runs_on_through_the_stages_switched_on(
    controller: PanelController, delight: bool, inpaint: bool, bake_stops_after: str
) -> None:
    from lifecast.pipeline.options import check_options
    from lifecast.worker.jobs import process_options

    controller.set_param("delight", delight)
    controller.set_param("inpaint", inpaint)
    for step in ("clean", "uv", "texture", "export"):
        job = controller.job_for(step)
        assert (job["delight"], job["inpaint"]) == (delight, inpaint), step
        options = process_options({k: v for k, v in job.items() if k != "command"})
        check_options(options)  # the worker refuses stop_after for a stage that is switched off
        assert (options.delight, options.inpaint) == (delight, inpaint)
        on = [s for s, flag in (("delight", delight), ("inpaint", inpaint)) if flag]
        assert [s for s in options.stage_names() if s in ("delight", "inpaint")] == on
    assert controller.job_for("texture")["stop_after"] == bake_stops_after
    assert controller.job_for("uv")["stop_after"] == "uv" and "stop_after" not in controller.job_for("export")
    controller.set_param("template", "anny-head")  # with a template too: the bake step is not the wrap's
    assert controller.job_for("texture")["stop_after"] == bake_stops_after
    assert controller.job_for("wrap")["stop_after"] == "wrap"


def test_the_switches_default_on_as_in_the_core() -> None:
    from lifecast.pipeline.options import ProcessOptions

    params = {p.name: p for p in step_named("texture").params}
    core = ProcessOptions(scan=Path("s.ply"), out_dir=Path("o"))
    for name in ("delight", "inpaint"):
        assert params[name].kind == "bool" and params[name].job_key == name
        assert params[name].default is getattr(core, name) is True


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_albedo_files_are_found_by_name_beside_the_asset(tmp_path: Path) -> None:
    asset = tmp_path / "asset.usda"
    assert find_albedo_maps(asset) is None  # no maps folder yet
    maps = tmp_path / "maps"
    _touch(maps / "head_lod0_normal.1001.png")
    assert find_albedo_maps(asset) is None  # no albedo baked
    for udim in (1002, 1001):
        _touch(maps / f"head_lod0_albedo.{udim}.png")
        _touch(maps / f"head_lod0_albedo_raw.{udim}.png")
        _touch(maps / f"head_lod0_shading.{udim}.exr")
    _touch(maps / "head_lod1_albedo.1001.png")
    found = find_albedo_maps(asset)
    assert found is not None and found.delit and found.tiles == (1001, 1002) and found.lod == 0
    assert (found.albedo, found.raw, found.shading) == (
        maps / "head_lod0_albedo.1001.png",
        maps / "head_lod0_albedo_raw.1001.png",
        maps / "head_lod0_shading.1001.exr",
    )
    lod1 = find_albedo_maps(asset, lod=1)
    assert lod1 is not None and lod1.albedo.name == "head_lod1_albedo.1001.png" and lod1.raw is None
    assert not lod1.delit and lod1.shading is None
    # a rewritten file makes a different value (the view decodes it again), the same files an equal one
    assert find_albedo_maps(asset) == found
    stat = (maps / "head_lod0_albedo_raw.1001.png").stat()
    os.utime(maps / "head_lod0_albedo_raw.1001.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert find_albedo_maps(asset) != found


def test_an_asset_baked_without_the_delight_has_no_raw_or_shading(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    _touch(maps / "my_head_lod0_albedo.1001.png")
    _touch(maps / "my_head_lod0_albedo.1001.png.tmp")  # a half-written file is never a map
    found = find_albedo_maps(tmp_path / "asset.usda")
    assert found is not None and found.albedo == maps / "my_head_lod0_albedo.1001.png"
    assert found.raw is None and found.shading is None and found.tiles == (1001,)


def test_an_acescg_albedo_is_found_as_its_exr(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    _touch(maps / "head_lod0_albedo.1001.exr")
    found = find_albedo_maps(tmp_path / "asset.usda")
    assert found is not None and found.albedo.suffix == ".exr" and found.raw is None
