"""Run stages in order with a content-addressed cache.

Cache layout (``cache_root`` defaults to ``OUTDIR/.lifecast/cache``)::

    <cache_root>/<stage>/<key>/values.npz     arrays (meshes, images)
                               values.json    everything else, and file entries
                               files/...      files the stage wrote
                               entry.json     stage, key, params, seconds

An entry is written to a temporary directory and renamed into place, so a
killed run leaves no half entry and two workers racing on the same key both
end with one complete entry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lifecast
from lifecast.errors import LifecastError
from lifecast.pipeline.atomic import atomic_dir
from lifecast.pipeline.hashing import combine, hash_params
from lifecast.pipeline.stage import Stage, StageContext
from lifecast.pipeline.store import load_values, save_values
from lifecast.worker.events import Event, EventSink, NullSink


class StageFailedError(LifecastError):
    """A stage raised something that is not a LifecastError (a bug, or a transient failure)."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        super().__init__(f"stage '{stage}' failed: {type(cause).__name__}: {cause}")


class Runner:
    """Runs a list of stages, reusing cached results whose key has not changed.

    Parameters
    ----------
    cache_root
        Directory of the cache (created on demand).
    events
        Where stage events go.
    force
        Rerun every stage, ignoring (and replacing) cached results.
    """

    def __init__(self, cache_root: Path, events: EventSink | None = None, force: bool = False) -> None:
        self.cache_root = Path(cache_root)
        self.events: EventSink = events if events is not None else NullSink()
        self.force = force
        self.keys: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.cached: dict[str, bool] = {}

    def key_of(self, stage: Stage) -> str:
        """The cache key of ``stage``; its dependencies' keys must be known already."""
        missing = [d for d in stage.deps if d not in self.keys]
        if missing:
            raise ValueError(f"stage '{stage.name}' runs before its dependencies {missing}")
        return combine(
            stage.name,
            stage.version,
            lifecast.__version__,
            hash_params(stage.params),
            stage.input_key,
            *(self.keys[d] for d in stage.deps),
        )[:32]

    def entry_dir(self, stage: Stage) -> Path:
        return self.cache_root / stage.name / self.keys[stage.name]

    def run(self, stages: Sequence[Stage], *, release: bool = False) -> dict[str, Mapping[str, Any]]:
        """Run ``stages`` in the given order (dependencies first); return every stage's outputs.

        With ``release``, a stage's arrays and meshes are dropped from the results once every later stage that
        depends on it has run (its reports and files are kept): a 30M-triangle scan is about 1 GB a copy, and
        the ingested and cleaned copies are not needed once the LODs and the bake have them.
        """
        results: dict[str, Mapping[str, Any]] = {}
        for i, stage in enumerate(stages):
            results[stage.name] = self.run_stage(stage, results)
            if release:
                needed = {dep for later in stages[i + 1 :] for dep in later.deps}
                for name in [n for n in results if n not in needed]:
                    results[name] = {k: v for k, v in results[name].items() if not _is_bulk(v)}
        return results

    def run_stage(self, stage: Stage, results: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
        key = self.key_of(stage)
        self.keys[stage.name] = key
        entry = self.cache_root / stage.name / key
        hit = entry.is_dir() and not self.force
        self.events.emit(Event("stage_start", {"stage": stage.name, "cached": hit}))
        t0 = time.perf_counter()
        values: Mapping[str, Any]
        if hit:
            values = load_values(entry)
            summary = json.loads((entry / "entry.json").read_text()).get("summary", {})
        else:
            if entry.is_dir():
                _remove_entry(entry)
            values, summary = self._execute(stage, entry, results)
        seconds = time.perf_counter() - t0
        self.timings[stage.name] = seconds
        self.cached[stage.name] = hit
        self.events.emit(
            Event("stage_end", {"stage": stage.name, "cached": hit, "seconds": round(seconds, 3), "summary": summary})
        )
        return values

    def _execute(
        self, stage: Stage, entry: Path, results: Mapping[str, Mapping[str, Any]]
    ) -> tuple[Mapping[str, Any], dict[str, Any]]:
        inputs = {d: results[d] for d in stage.deps}
        t0 = time.perf_counter()
        with atomic_dir(entry) as tmp:
            files = tmp / "files"
            files.mkdir()
            ctx = StageContext(stage.name, stage.params, inputs, files, self.events, stage.resources)
            try:
                outputs = stage.fn(ctx)
            except LifecastError:
                raise
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:
                raise StageFailedError(stage.name, exc) from exc
            summary = dict(outputs.get("summary", {})) if isinstance(outputs.get("summary"), Mapping) else {}
            save_values(outputs, tmp)
            meta = {
                "stage": stage.name,
                "key": self.keys[stage.name],
                "version": stage.version,
                "lifecast": lifecast.__version__,
                "params": dict(stage.params),
                "deps": {d: self.keys[d] for d in stage.deps},
                "seconds": round(time.perf_counter() - t0, 3),
                "summary": summary,
            }
            (tmp / "entry.json").write_text(json.dumps(meta, indent=1, default=str))
        # Re-load so a file output points at the final entry, not the temp dir.
        return load_values(entry), summary


def _is_bulk(value: Any) -> bool:
    """Arrays and meshes: what :meth:`Runner.run` releases."""
    import numpy as np

    from lifecast.mesh import TriMesh

    if isinstance(value, list) and value and all(isinstance(v, TriMesh) for v in value):
        return True
    return isinstance(value, np.ndarray | TriMesh)


def _remove_entry(entry: Path) -> None:
    import shutil

    shutil.rmtree(entry, ignore_errors=True)
