"""What a worker run looks like to the sidebar: stages, progress, the last log lines, the error. No bpy.

:class:`RunState` folds the event stream (and the process's exit) into plain
values the Blender panel draws; tests drive it with hand-written events. The
error wording follows the Qt panel's ``RunError.headline`` so an artist reads
the same message in every host. :func:`find_albedo_maps` names the albedo files
(raw bake, delit, shading) a finished run published, for the sidebar to compare.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .protocol import WorkerEvent

__all__ = [
    "ERROR_HEADLINES",
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_NO_CONSENT",
    "EXIT_OK",
    "FAILED_HEADLINE",
    "AlbedoMaps",
    "RunError",
    "RunState",
    "StageState",
    "correction_line",
    "find_albedo_maps",
]

#: Exit codes of ``lifecast worker``: a copy of ``lifecast.errors``' (the add-on never imports the core), kept equal
#: to it by ``tests/hosts/test_plugin_imports.py``.
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NO_CONSENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: The first words of a failed run's one-line message, by exit code (the Qt panel shows the same).
ERROR_HEADLINES = {
    EXIT_BAD_INPUT: "Cannot use this input",
    EXIT_NO_CONSENT: "No valid consent",
    EXIT_INTERRUPTED: "Cancelled",
}
#: The headline of any other exit code.
FAILED_HEADLINE = "The worker failed"


@dataclass
class StageState:
    """One stage: ``status`` is ``waiting``, ``running``, ``done``, ``cached`` or ``failed``; ``fraction`` in [0, 1]."""

    name: str
    status: str = "waiting"
    fraction: float = 0.0
    message: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class RunError:
    """A failed run as an artist reads it: ``headline`` in one line, ``details`` (the worker's stderr) on demand."""

    message: str
    exit_code: int
    path: str | None = None
    details: str = ""

    @property
    def headline(self) -> str:
        return f"{ERROR_HEADLINES.get(self.exit_code, FAILED_HEADLINE)}: {self.message}"


@dataclass
class RunState:
    """The state of one worker run, built from its events; ``log`` keeps the last ``max_log`` lines."""

    command: str = ""
    max_log: int = 8
    stages: dict[str, StageState] = field(default_factory=dict)
    current_stage: str = ""
    log: deque[str] = field(default_factory=deque)
    artifacts: list[tuple[str, str]] = field(default_factory=list)  # (kind, path)
    outputs: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    error: RunError | None = None
    running: bool = False
    exit_code: int | None = None

    def __post_init__(self) -> None:
        self.log = deque(self.log, maxlen=self.max_log)

    def apply(self, event: WorkerEvent) -> None:
        """Fold one event into the state; unknown event types are ignored."""
        stage = event.get("stage")
        if event.type == "run_start":
            self.running = True
            self.command = str(event.get("command", self.command))
            self.stages = {str(s): StageState(str(s)) for s in event.get("stages", []) or []}
        elif event.type == "stage_start" and stage:
            self._stage(stage).status = "running"
            self.current_stage = str(stage)
        elif event.type == "progress" and stage:
            st = self._stage(stage)
            with contextlib.suppress(TypeError, ValueError):
                st.fraction = max(0.0, min(1.0, float(event.get("fraction", 0.0))))
            st.message = str(event.get("message", "") or st.message)
            self.current_stage = str(stage)
        elif event.type in ("log", "warning"):
            prefix = "warning: " if event.type == "warning" else ""
            where = f"[{stage}] " if stage else ""
            self.log.append(f"{where}{prefix}{event.get('message', '')}")
        elif event.type == "artifact":
            self.artifacts.append((str(event.get("kind", "")), str(event.get("path", ""))))
        elif event.type == "stage_end" and stage:
            st = self._stage(stage)
            st.status = "cached" if event.get("cached") else "done"
            st.fraction = 1.0
            st.seconds = event.get("seconds")
        elif event.type == "error":
            message = str(event.get("message", "unknown error"))
            code = event.get("exit_code", EXIT_INTERNAL)
            self.error = RunError(message, int(code) if isinstance(code, int) else EXIT_INTERNAL, event.get("path"))
            self.log.append(f"error: {message}")
            self._fail_running()
        elif event.type == "done":
            self.outputs = {str(k): str(v) for k, v in (event.get("outputs") or {}).items()}
            if isinstance(event.get("report"), dict):
                self.report = event.get("report")

    def finish(self, exit_code: int, stderr: str = "") -> None:
        """The worker process ended with ``exit_code``; its ``stderr`` becomes the error's details."""
        self.running = False
        self.exit_code = exit_code
        if exit_code == EXIT_OK:
            return
        if self.error is None:
            if exit_code == EXIT_INTERRUPTED:
                message = "the worker stopped; nothing half-written was left"
            else:
                lines = [line.strip() for line in stderr.splitlines() if line.strip()]
                message = lines[-1] if lines else f"the worker exited with code {exit_code}"
            self.error = RunError(message, exit_code, None, stderr)
        else:
            self.error = RunError(self.error.message, exit_code, self.error.path, stderr)
        self._fail_running()

    @property
    def fraction(self) -> float:
        """Progress over all stages of the run, in [0, 1]."""
        if not self.stages:
            return 1.0 if self.exit_code == EXIT_OK else 0.0
        return sum(s.fraction for s in self.stages.values()) / len(self.stages)

    @property
    def status_line(self) -> str:
        """One line for the panel: the current stage and what it is doing, or how the run ended."""
        if self.error is not None:
            return self.error.headline
        if self.exit_code == EXIT_OK:
            return "done"
        if not self.current_stage:
            return "starting the worker" if self.running or self.exit_code is None else ""
        st = self.stages.get(self.current_stage)
        detail = f": {st.message}" if st is not None and st.message and st.status == "running" else ""
        return f"{self.current_stage}{detail}"

    def _stage(self, name: Any) -> StageState:
        return self.stages.setdefault(str(name), StageState(str(name)))

    def _fail_running(self) -> None:
        for st in self.stages.values():
            if st.status == "running":
                st.status = "failed"


def correction_line(state: RunState) -> str:
    """A finished ``correct`` run as one line: the correction's id and changed texels, or the error's headline."""
    if state.error is not None:
        return state.error.headline
    report = state.report or {}
    if state.exit_code != EXIT_OK or "correction_id" not in report:
        return ""
    line = f"correction {report['correction_id']} recorded: {int(report.get('changed_texels', 0)):,} texels changed"
    line += f" ({100 * float(report.get('changed_fraction', 0.0)):.2f} %)"
    return line + (" (kept with the asset: adapters need a show)" if report.get("local") else "")


_ALBEDO = re.compile(r"^(?P<name>.+)_lod(?P<lod>\d+)_albedo\.(?P<udim>\d{4})\.(?P<ext>png|exr)$")


@dataclass(frozen=True)
class AlbedoMaps:
    """One LOD's albedo files in a published asset's ``maps`` folder, first UDIM tile.

    The ``delight`` stage keeps ``<name>_lod<i>_albedo_raw.<UDIM>.png`` (the bake before it) and
    ``<name>_lod<i>_shading.<UDIM>.exr`` (the shading removed, linear, mean 1) beside
    ``<name>_lod<i>_albedo.<UDIM>.png`` (what the material reads); ``raw`` and ``shading``
    are ``None`` when the run did not delight. ``tiles`` are the albedo's UDIM tiles (a
    single-tile asset names its tile 1001 too). The Qt panel's ``lifecast_panel.textures``
    follows the same rules.
    """

    albedo: str
    raw: str | None
    shading: str | None
    tiles: tuple[int, ...] = (1001,)
    lod: int = 0

    @property
    def delit(self) -> bool:
        """Whether the delight ran: the raw bake is kept beside the albedo."""
        return self.raw is not None

    @property
    def tiled(self) -> bool:
        """Whether the material names the albedo with ``<UDIM>`` (anything but tile 1001 alone)."""
        return self.tiles != (1001,)


def find_albedo_maps(asset: str, lod: int = 0) -> AlbedoMaps | None:
    """LOD ``lod``'s albedo files in the ``maps`` folder beside ``asset`` (``asset.usda``); ``None`` when none."""
    folder = Path(asset).parent / "maps"
    if not asset or not folder.is_dir():
        return None
    found: dict[tuple[str, str], list[int]] = {}
    for path in folder.iterdir():
        match = _ALBEDO.match(path.name)
        if match and int(match["lod"]) == lod and path.is_file():
            found.setdefault((match["name"], match["ext"]), []).append(int(match["udim"]))
    if not found:
        return None
    # One asset's albedo is PNG (sRGB) or EXR (ACEScg); prefer the PNG.
    (name, ext), tiles = sorted(found.items(), key=lambda item: (item[0][1] != "png", item[0][0]))[0]
    tiles.sort()
    stem = folder / f"{name}_lod{lod}"
    raw = Path(f"{stem}_albedo_raw.{tiles[0]}.{ext}")
    shading = Path(f"{stem}_shading.{tiles[0]}.exr")
    return AlbedoMaps(
        albedo=f"{stem}_albedo.{tiles[0]}.{ext}",
        raw=str(raw) if raw.is_file() else None,
        shading=str(shading) if shading.is_file() else None,
        tiles=tuple(tiles),
        lod=lod,
    )
