"""The stage runner: cache hits, invalidation of what depends on a change, atomic entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline import Runner, Stage, StageContext, StageFailedError, StageFile
from lifecast.worker.events import CollectingSink


class Calls:
    """Counts how often each stage function really ran."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.count[name] = self.count.get(name, 0) + 1


def chain(calls: Calls, a_scale: float = 2.0, b_offset: float = 1.0, c_name: str = "x") -> list[Stage]:
    def a(ctx: StageContext) -> dict[str, Any]:
        calls.hit("a")
        ctx.progress(0.5, "half")
        return {"values": np.arange(4, dtype=np.float32) * ctx.params["scale"]}

    def b(ctx: StageContext) -> dict[str, Any]:
        calls.hit("b")
        v = ctx.input("a", "values") + ctx.params["offset"]
        mesh = TriMesh(np.tile(v[:3, None], (1, 3)), np.array([[0, 1, 2]], np.int32))
        return {"mesh": mesh, "report": {"sum": float(v.sum())}, "summary": {"n": 4}}

    def c(ctx: StageContext) -> dict[str, Any]:
        calls.hit("c")
        (ctx.files_dir / "out.txt").write_text(ctx.params["name"] + str(ctx.input("b", "report")["sum"]))
        return {"file": StageFile("out.txt", ctx.files_dir)}

    return [
        Stage("a", a, params={"scale": a_scale}),
        Stage("b", b, deps=("a",), params={"offset": b_offset}),
        Stage("c", c, deps=("b",), params={"name": c_name}),
    ]


def test_results_flow_through_and_files_land_in_the_cache(tmp_path: Path) -> None:
    calls = Calls()
    out = Runner(tmp_path).run(chain(calls))
    assert out["b"]["report"] == {"sum": 16.0}  # (0+2+4+6) + 4*1
    assert isinstance(out["b"]["mesh"], TriMesh)
    f = out["c"]["file"]
    assert f.path.read_text() == "x16.0"
    assert tmp_path in f.path.parents


def test_second_run_is_all_cache_hits_with_equal_values(tmp_path: Path) -> None:
    calls = Calls()
    first = Runner(tmp_path).run(chain(calls))
    runner = Runner(tmp_path)
    second = runner.run(chain(calls))
    assert calls.count == {"a": 1, "b": 1, "c": 1}
    assert all(runner.cached.values())
    np.testing.assert_array_equal(first["a"]["values"], second["a"]["values"])
    np.testing.assert_array_equal(first["b"]["mesh"].vertices, second["b"]["mesh"].vertices)


def test_changing_a_parameter_reruns_only_that_stage_and_what_depends_on_it(tmp_path: Path) -> None:
    calls = Calls()
    Runner(tmp_path).run(chain(calls))
    Runner(tmp_path).run(chain(calls, c_name="y"))
    assert calls.count == {"a": 1, "b": 1, "c": 2}
    Runner(tmp_path).run(chain(calls, b_offset=3.0, c_name="y"))
    assert calls.count == {"a": 1, "b": 2, "c": 3}


def test_force_reruns_everything(tmp_path: Path) -> None:
    calls = Calls()
    Runner(tmp_path).run(chain(calls))
    Runner(tmp_path, force=True).run(chain(calls))
    assert calls.count == {"a": 2, "b": 2, "c": 2}


def test_input_key_change_invalidates(tmp_path: Path) -> None:
    calls = Calls()
    stages = chain(calls)
    Runner(tmp_path).run(stages)
    changed = [Stage(stages[0].name, stages[0].fn, params=stages[0].params, input_key="new-file-hash"), *stages[1:]]
    Runner(tmp_path).run(changed)
    assert calls.count == {"a": 2, "b": 2, "c": 2}


def test_resources_reach_the_stage_but_not_the_key(tmp_path: Path) -> None:
    seen: list[str] = []

    def fn(ctx: StageContext) -> dict[str, Any]:
        seen.append(ctx.resources["path"])
        return {}

    r1 = Runner(tmp_path)
    r1.run([Stage("s", fn, resources={"path": "/a/scan.ply"})])
    r2 = Runner(tmp_path)
    r2.run([Stage("s", fn, resources={"path": "/elsewhere/scan.ply"})])
    assert seen == ["/a/scan.ply"]
    assert r2.cached["s"]


def test_a_failing_stage_leaves_no_cache_entry_and_reports_its_cause(tmp_path: Path) -> None:
    def boom(ctx: StageContext) -> dict[str, Any]:
        (ctx.files_dir / "partial.bin").write_bytes(b"half")
        raise ZeroDivisionError("kaput")

    with pytest.raises(StageFailedError, match="kaput") as info:
        Runner(tmp_path).run([Stage("boom", boom)])
    assert info.value.stage == "boom"
    assert not any(tmp_path.rglob("partial.bin"))
    assert not (tmp_path / "boom").exists() or not any((tmp_path / "boom").iterdir())


def test_input_errors_pass_through_unwrapped(tmp_path: Path) -> None:
    def bad(ctx: StageContext) -> dict[str, Any]:
        raise InputError("no faces", "scan.ply")

    with pytest.raises(InputError, match="no faces"):
        Runner(tmp_path).run([Stage("bad", bad)])


def test_events_describe_each_stage(tmp_path: Path) -> None:
    sink = CollectingSink()
    Runner(tmp_path, sink).run(chain(Calls()))
    kinds = [(e.type, e.data.get("stage")) for e in sink.events if e.type != "progress"]
    assert kinds == [
        ("stage_start", "a"),
        ("stage_end", "a"),
        ("stage_start", "b"),
        ("stage_end", "b"),
        ("stage_start", "c"),
        ("stage_end", "c"),
    ]
    progress = sink.of_type("progress")
    assert progress and progress[0].data == {"stage": "a", "fraction": 0.5, "message": "half"}
    assert sink.of_type("stage_end")[1].data["summary"] == {"n": 4}


def test_a_stage_before_its_dependency_is_refused(tmp_path: Path) -> None:
    stages = chain(Calls())
    with pytest.raises(ValueError, match="dependencies"):
        Runner(tmp_path).run([stages[1]])


def test_scaled_progress_maps_a_subtask_onto_a_slice() -> None:
    from lifecast.pipeline import scaled_progress

    seen: list[tuple[float, str]] = []
    sub = scaled_progress(lambda f, m="": seen.append((f, m)), 0.5, 0.75, "LOD1: ")
    sub(0.0, "start")
    sub(1.0)
    assert seen == [(0.5, "LOD1: start"), (0.75, "LOD1")]


def test_release_drops_arrays_and_meshes_nothing_later_needs(tmp_path: Path) -> None:
    seen: list[float] = []

    def d(ctx: StageContext) -> dict[str, Any]:
        seen.append(float(ctx.input("a", "values").sum()))  # a's arrays are still there for a later dependant
        return {"n": 1}

    stages = [*chain(Calls()), Stage("d", d, deps=("a",))]
    out = Runner(tmp_path).run(stages, release=True)
    assert seen == [12.0]
    assert "values" not in out["a"] and "mesh" not in out["b"]
    assert out["b"]["report"] == {"sum": 16.0} and out["b"]["summary"] == {"n": 4}
    assert out["c"]["file"].path.read_text() == "x16.0"
    kept = Runner(tmp_path).run(stages)
    assert isinstance(kept["b"]["mesh"], TriMesh)  # without release everything stays
