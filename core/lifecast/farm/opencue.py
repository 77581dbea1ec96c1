"""OpenCue outlines: the OpenJD bundle's job for studios that run OpenCue (ASWF) instead of Deadline.

``lifecast farm bundle --engine opencue`` writes, beside the OpenJD bundle and from the same task table::

    BUNDLE/opencue/lifecast.outline   a PyOutline script (``opencue-pyoutline``): a layer per step, a frame per scan
          opencue/job.xml             the job spec Cuebot takes, serialized from that script by PyOutline itself

Layers are the OpenJD steps (:data:`lifecast.farm.openjd.STEPS`), in order, each running ``lifecast farm task`` with
``--stop-after`` its step's last stage; frame ``i`` of every layer is row ``i`` of ``tasks.json`` (OpenCue
substitutes ``#IFRAME#``), and each layer depends frame by frame on the one before, so scan 3's texture frame waits
for scan 3's uv frame only. Memory is the OpenJD step's ``amount.memory``; the texture layer asks for a GPU (``gpus``
and the ``gpu`` tag) only with ``gpu_texture``. With an adapt step in the manifest, an ``adapt`` layer (a frame per
subject) waits for the whole export layer (layer on layer) and runs ``lifecast ml adapt --subject S --show SHOW``.
Every layer runs under the ``lifecast`` service, so a wrangler can give it its own cores and memory defaults in
Cuebot.

Launch from a machine that reaches the Cuebot (``CUEBOT_HOSTS``), either the script (``use_pycuerun=False``: the
frames run the command itself, the render nodes need lifecast, not PyOutline)::

    python -c "import outline, outline.cuerun; \\
        outline.cuerun.launch(outline.load_outline('BUNDLE/opencue/lifecast.outline'), use_pycuerun=False)"

or the spec (``opencue.api.launchSpec(open('BUNDLE/opencue/job.xml').read())``). No Cuebot runs here: the tests
check the outline loads and serializes and that its layers, commands and dependencies are the OpenJD steps'.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from lifecast.farm.manifest import Manifest
from lifecast.farm.openjd import (
    ADAPT_AFTER,
    ADAPT_MEMORY_MIB,
    ADAPT_STEP,
    STEPS,
    TASK_TABLE,
    FarmStep,
    adapt_args,
    step_memory_mib,
)
from lifecast.pipeline.atomic import write_text_atomic

#: Folder of the OpenCue files inside a bundle.
OPENCUE_DIR = "opencue"
#: The OpenCue service every layer runs under (its cores and memory defaults are set in Cuebot).
SERVICE = "lifecast"
#: Hard timeout of a frame, in minutes (Cuebot's unit; OpenJD's action timeout is the same hour).
TIMEOUT_MINUTES = 60
#: OpenCue's token for the frame number in a layer's command.
FRAME_TOKEN = "#IFRAME#"
#: How a layer waits for the one before: frame by frame (a scan's step waits for that scan's previous step), or,
#: for the adapt layer, layer on layer (every frame of the export layer).
FRAME_BY_FRAME, LAYER_ON_LAYER = "FRAME_BY_FRAME", "LAYER_ON_LAYER"


def adapt_command(subjects: tuple[str, ...], lifecast_command: str, show: Path) -> list[str]:
    """The adapt layer's command: frame ``i`` runs ``lifecast ml adapt`` for ``subjects[i]``, through ``sh -c``.

    The subjects are the shell's positional parameters; ``shift #IFRAME#`` makes frame ``i``'s the first.
    """
    words = [lifecast_command, *adapt_args("\x00", str(show))]  # NUL: the subject's place (no path holds one)
    run = " ".join('"$1"' if w == "\x00" else shlex.quote(w) for w in words)
    script = f"set -- {' '.join(map(shlex.quote, subjects))} && shift {FRAME_TOKEN} && exec {run}"
    return ["sh", "-c", shlex.quote(script)]


def layer_command(step: FarmStep, lifecast_command: str, table: Path, out_root: Path, cache_dir: Path) -> list[str]:
    """The command of ``step``'s layer: ``lifecast farm task`` on row ``#IFRAME#`` of ``table``, shell-quoted.

    OpenCue joins the words with spaces into one shell command, so each is quoted (``#IFRAME#`` needs none).
    """
    words = [
        lifecast_command,
        "farm",
        "task",
        str(table),
        "--index",
        FRAME_TOKEN,
        "--out-root",
        str(out_root),
        "--cache",
        str(cache_dir),
        "--stop-after",
        step.stop_after,
    ]
    return [w if w == FRAME_TOKEN else shlex.quote(w) for w in words]


def layer_specs(
    manifest: Manifest,
    table: Path,
    *,
    out_root: Path,
    cache_dir: Path,
    lifecast_command: str = "lifecast",
    gpu_texture: bool = False,
) -> list[dict[str, Any]]:
    """One dict of PyOutline ``Shell`` arguments per step (plus ``name`` and ``depends_on``), in step order."""
    frames = f"0-{len(manifest.scans) - 1}"
    specs: list[dict[str, Any]] = []
    previous: str | None = None
    for step in STEPS:
        gpu = gpu_texture and step.gpu_capable
        specs.append(
            {
                "name": step.name,
                "command": layer_command(step, lifecast_command, table, out_root, cache_dir),
                "range": frames,
                "chunk": 1,
                "memory": f"{step_memory_mib(manifest.scans, step)}m",
                "service": SERVICE,
                "tags": [SERVICE, "gpu"] if gpu else [SERVICE],
                "timeout": TIMEOUT_MINUTES,
                **({"gpus": 1} if gpu else {}),
                "depends_on": previous,
                "depend_type": FRAME_BY_FRAME,
            }
        )
        previous = step.name
    if manifest.adapt is not None:
        subjects = manifest.adapt.subjects
        specs.append(
            {
                "name": ADAPT_STEP,
                "command": adapt_command(subjects, lifecast_command, manifest.adapt.show_dir(manifest.path)),
                "range": f"0-{len(subjects) - 1}",
                "chunk": 1,
                "memory": f"{ADAPT_MEMORY_MIB}m",
                "service": SERVICE,
                "tags": [SERVICE],
                "timeout": TIMEOUT_MINUTES,
                "depends_on": ADAPT_AFTER,
                "depend_type": LAYER_ON_LAYER,
            }
        )
    return specs


def outline_script(name: str, n_scans: int, specs: list[dict[str, Any]]) -> str:
    """The PyOutline script that builds the job from ``specs`` (:func:`layer_specs`), as Python source."""
    lines = [
        "# The lifecast job as an OpenCue outline, written by `lifecast farm bundle --engine opencue`.",
        "# Frame i of every layer is row i of the bundle's tasks.json; load it with outline.load_outline(path).",
        "import outline",
        "from outline.modules.shell import Shell",
        "",
        "job = outline.current_outline()",
        f"job.set_name({name!r})",
        f"job.set_frame_range('0-{n_scans - 1}')",
        "layers = {}",
    ]
    for spec in specs:
        args = {k: v for k, v in spec.items() if k not in ("name", "depends_on", "depend_type")}
        lines.append(f"layers[{spec['name']!r}] = Shell({spec['name']!r}, **{json.dumps(args)})")
        if spec["depends_on"]:
            how = spec.get("depend_type", FRAME_BY_FRAME)
            lines.append(
                f"layers[{spec['name']!r}].depend_on(layers[{spec['depends_on']!r}], {how!r})"
                f"  # {how.lower().replace('_', ' ')}"
            )
    return "\n".join(lines) + "\n"


def job_name(name: str) -> str:
    """An OpenCue job name: letters, digits, ``-`` and ``_`` (Cuebot's job names take no spaces)."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")
    return cleaned or "lifecast"


def write_outline(
    manifest: Manifest,
    bundle_dir: Path,
    *,
    out_root: Path,
    cache_dir: Path,
    lifecast_command: str = "lifecast",
    name: str | None = None,
    gpu_texture: bool = False,
) -> Path:
    """Write ``opencue/lifecast.outline`` and ``opencue/job.xml`` into ``bundle_dir``; return the outline's path.

    Parameters
    ----------
    manifest
        The scans.
    bundle_dir
        The OpenJD bundle folder (:func:`lifecast.farm.openjd.write_bundle`): its ``tasks.json`` is the task
        table the frames index.
    out_root, cache_dir
        Where the workers publish and the shared stage cache, as the render nodes see them.
    lifecast_command
        The lifecast executable on the render nodes.
    name
        Job name (default ``lifecast_<manifest stem>``).
    gpu_texture
        Ask for a GPU on the texture layer.
    """
    specs = layer_specs(
        manifest,
        (Path(bundle_dir) / TASK_TABLE).resolve(),
        out_root=Path(out_root).resolve(),
        cache_dir=Path(cache_dir).resolve(),
        lifecast_command=lifecast_command,
        gpu_texture=gpu_texture,
    )
    folder = Path(bundle_dir) / OPENCUE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "lifecast.outline"
    write_text_atomic(
        script, outline_script(job_name(name or f"lifecast_{manifest.path.stem}"), len(manifest.scans), specs)
    )
    write_text_atomic(folder / "job.xml", serialize_outline(script))
    return script


def serialize_outline(script: Path) -> str:
    """The Cuebot job spec (XML) of an outline script, as PyOutline serializes it for launching without pycuerun."""
    outline, cuerun, cue = _pyoutline()
    job = outline.load_outline(str(script))
    try:
        return str(cue.serialize_simple(cuerun.OutlineLauncher(job, nomail=True)))
    finally:
        outline.Outline.current = None


def _pyoutline() -> tuple[Any, Any, Any]:
    """PyOutline's ``outline``, ``outline.cuerun`` and ``outline.backend.cue`` (``farm`` extra), or a clear error."""
    try:
        import outline
        import outline.cuerun
        from outline.backend import cue
    except ImportError:
        from lifecast.errors import MissingDependencyError

        raise MissingDependencyError("opencue-pyoutline", "writing an OpenCue outline", extra="farm") from None
    return outline, outline.cuerun, cue
