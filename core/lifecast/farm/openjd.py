"""Open Job Description job bundles: one job, a step per pipeline phase, a task per scan.

A bundle is a folder that ``openjd run`` executes locally and ``deadline
bundle submit`` sends to AWS Deadline Cloud::

    BUNDLE/template.yaml           the job template (specificationVersion jobtemplate-2023-09)
          parameter_values.yaml    values for its job parameters (Deadline Cloud's format)
          asset_references.yaml    the scans and the task table as inputs, the output root as output
          tasks.json               the task table (:mod:`lifecast.farm.tasks`)

Steps, each depending on the one before, each with one task per scan
(task parameter ``ScanIndex``, a row of ``tasks.json``):

==========  =========================  ===========================================
step        stages                     why grouped
==========  =========================  ===========================================
geometry    ingest, clean, lod         each a few seconds: a task per stage would
                                       cost more in scheduling and in reloading
                                       the mesh from the shared cache than it runs
uv          uv                         xatlas, CPU, the longest CPU stage
texture     texture                    the bake: the most memory, the GPU step
export      export                     writes and publishes the USD asset
==========  =========================  ===========================================

With an adapt step in the manifest (``adapt = true`` or ``[adapt]``), a fifth step, ``adapt``, depends on the
export step (so it starts once every scan is published) and runs ``lifecast ml adapt --subject S --show SHOW``
once per subject (task parameter ``Subject``); the show is the ``ShowDir`` job parameter.

Every task runs ``lifecast farm task`` (``lifecast process ... --cache CACHE
--stop-after STAGE --json`` under a lock); the stages it has already run come
from the shared cache. Host requirements ask for memory from the largest scan
of the job (:func:`lifecast.farm.sizing.estimate_memory_mib`); the texture step
asks for a GPU only when the bundle is written with ``gpu_texture=True``
(OpenJD host requirements are fixed in the template, a job parameter cannot
switch them), and the bake is CPU-only today, so the default is CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecast.farm.manifest import Manifest, ScanTask
from lifecast.farm.sizing import estimate_memory_mib
from lifecast.farm.tasks import write_task_table
from lifecast.pipeline.atomic import write_text_atomic

SPEC_VERSION = "jobtemplate-2023-09"
#: The step (OpenCue: the layer) that trains the subjects' adapters after the batch, and the step it waits for.
ADAPT_STEP = "adapt"
ADAPT_AFTER = "export"
#: ``amount.memory`` of an adapt task: a small adapter trained on a subject's corrections (1K-4K tiles).
ADAPT_MEMORY_MIB = 8192
#: The task table's file name in a bundle.
TASK_TABLE = "tasks.json"


@dataclass(frozen=True)
class FarmStep:
    """One step of the job: its name, the stage it stops after, and what it needs."""

    name: str
    stop_after: str
    with_texture: bool
    gpu_capable: bool = False


STEPS = (
    FarmStep("geometry", "lod", with_texture=False),
    FarmStep("uv", "uv", with_texture=False),
    FarmStep("texture", "texture", with_texture=True, gpu_capable=True),
    FarmStep("export", "export", with_texture=False),
)


def step_memory_mib(scans: list[ScanTask], step: FarmStep) -> int:
    """``amount.memory`` of a step: the largest scan's estimate, rounded up to 256 MiB."""
    need = max(estimate_memory_mib(t, with_texture=step.with_texture) for t in scans)
    return -(-need // 256) * 256


def job_template(manifest: Manifest, name: str, gpu_texture: bool = False) -> dict[str, Any]:
    """The OpenJD job template for ``manifest``'s scans, as a plain dict (YAML-ready)."""
    n = len(manifest.scans)
    parameters: list[dict[str, Any]] = [
        {
            "name": "LifecastCommand",
            "type": "STRING",
            "description": "The lifecast executable on the workers (e.g. /studio/sw/lifecast/.venv/bin/lifecast).",
            "default": "lifecast",
        },
        {
            "name": "TaskTable",
            "type": "PATH",
            "objectType": "FILE",
            "dataFlow": "IN",
            "description": "tasks.json of this bundle: the scans and their lifecast options.",
        },
        {
            "name": "CacheDir",
            "type": "PATH",
            "objectType": "DIRECTORY",
            "dataFlow": "NONE",
            "description": "Stage cache on shared storage, shared by every task and every job.",
        },
        {
            "name": "OutputRoot",
            "type": "PATH",
            "objectType": "DIRECTORY",
            "dataFlow": "OUT",
            "description": "Where the assets are published, one folder per scan.",
        },
    ]
    steps = []
    previous: str | None = None
    for step in STEPS:
        args = [
            "farm",
            "task",
            "{{Param.TaskTable}}",
            "--index",
            "{{Task.Param.ScanIndex}}",
            "--out-root",
            "{{Param.OutputRoot}}",
            "--cache",
            "{{Param.CacheDir}}",
            "--stop-after",
            step.stop_after,
        ]
        amounts: list[dict[str, Any]] = [{"name": "amount.memory", "min": step_memory_mib(manifest.scans, step)}]
        if gpu_texture and step.gpu_capable:
            amounts.append({"name": "amount.worker.gpu", "min": 1})
        body: dict[str, Any] = {
            "name": step.name,
            "parameterSpace": {
                "taskParameterDefinitions": [{"name": "ScanIndex", "type": "INT", "range": f"0-{n - 1}"}]
            },
            "hostRequirements": {
                "amounts": amounts,
                "attributes": [{"name": "attr.worker.os.family", "anyOf": ["linux", "macos"]}],
            },
            "script": {"actions": {"onRun": {"command": "{{Param.LifecastCommand}}", "args": args, "timeout": 3600}}},
        }
        if previous is not None:
            body["dependencies"] = [{"dependsOn": previous}]
        steps.append(body)
        previous = step.name
    if manifest.adapt is not None:
        parameters.append(
            {
                "name": "ShowDir",
                "type": "PATH",
                "objectType": "DIRECTORY",
                "dataFlow": "NONE",
                "description": "The show folder holding lifecast.db: the subjects' corrections and adapters.",
                "default": str(manifest.adapt.show_dir(manifest.path)),
            }
        )
        steps.append(adapt_step(manifest.adapt.subjects))
    return {
        "specificationVersion": SPEC_VERSION,
        "name": name,
        "description": f"lifecast: {n} scan(s) from {manifest.path.name} to USD assets",
        "parameterDefinitions": parameters,
        "steps": steps,
    }


def adapt_args(subject: str, show: str) -> list[str]:
    """The ``lifecast`` arguments of one adapt task."""
    return ["ml", "adapt", "--subject", subject, "--show", show]


def adapt_step(subjects: tuple[str, ...]) -> dict[str, Any]:
    """The OpenJD step that runs ``lifecast ml adapt`` once per subject, after every task of the export step."""
    return {
        "name": ADAPT_STEP,
        "parameterSpace": {
            "taskParameterDefinitions": [{"name": "Subject", "type": "STRING", "range": list(subjects)}]
        },
        "hostRequirements": {
            "amounts": [{"name": "amount.memory", "min": ADAPT_MEMORY_MIB}],
            "attributes": [{"name": "attr.worker.os.family", "anyOf": ["linux", "macos"]}],
        },
        "script": {
            "actions": {
                "onRun": {
                    "command": "{{Param.LifecastCommand}}",
                    "args": adapt_args("{{Task.Param.Subject}}", "{{Param.ShowDir}}"),
                    "timeout": 3600,
                }
            }
        },
        "dependencies": [{"dependsOn": ADAPT_AFTER}],
    }


def write_bundle(
    manifest: Manifest,
    bundle_dir: Path,
    *,
    out_root: Path,
    cache_dir: Path,
    lifecast_command: str = "lifecast",
    name: str | None = None,
    gpu_texture: bool = False,
) -> Path:
    """Write an OpenJD job bundle for ``manifest`` into ``bundle_dir``; return the template's path.

    Parameters
    ----------
    manifest
        The scans.
    bundle_dir
        Folder of the bundle (created).
    out_root, cache_dir
        Defaults of the ``OutputRoot`` and ``CacheDir`` job parameters, as the
        workers see them (shared storage).
    lifecast_command
        Default of ``LifecastCommand``.
    name
        Job name (default ``lifecast <manifest stem>``).
    gpu_texture
        Ask for a GPU on the texture step.
    """
    yaml = _yaml()
    bundle_dir = Path(bundle_dir).resolve()
    bundle_dir.mkdir(parents=True, exist_ok=True)
    table = write_task_table(manifest, bundle_dir / TASK_TABLE)
    template = job_template(manifest, name or f"lifecast {manifest.path.stem}", gpu_texture)
    values = {
        "LifecastCommand": lifecast_command,
        "TaskTable": str(table),
        "CacheDir": str(Path(cache_dir).resolve()),
        "OutputRoot": str(Path(out_root).resolve()),
    }
    if manifest.adapt is not None:
        values["ShowDir"] = str(manifest.adapt.show_dir(manifest.path))
    parameter_values = {"parameterValues": [{"name": k, "value": v} for k, v in values.items()]}
    assets = {
        "assetReferences": {
            "inputs": {"filenames": [str(table), *(str(t.scan) for t in manifest.scans)], "directories": []},
            "outputs": {"directories": [values["OutputRoot"]]},
        }
    }
    dump = {"sort_keys": False, "default_flow_style": False, "width": 120}
    write_text_atomic(bundle_dir / "parameter_values.yaml", yaml.safe_dump(parameter_values, **dump))
    write_text_atomic(bundle_dir / "asset_references.yaml", yaml.safe_dump(assets, **dump))
    path = bundle_dir / "template.yaml"
    write_text_atomic(path, yaml.safe_dump(template, **dump))
    return path


def _yaml() -> Any:
    """PyYAML (it comes with the ``farm`` extra), or a clear error saying how to get it."""
    try:
        import yaml
    except ImportError:
        from lifecast.errors import MissingDependencyError

        raise MissingDependencyError("PyYAML", "writing an OpenJD job bundle", extra="farm") from None
    return yaml


def openjd_job_params(bundle_dir: Path) -> list[str]:
    """``-p NAME=VALUE`` arguments for ``openjd run`` from a bundle's ``parameter_values.yaml``."""
    yaml = _yaml()
    data = yaml.safe_load((Path(bundle_dir) / "parameter_values.yaml").read_text())
    args: list[str] = []
    for item in data["parameterValues"]:
        args += ["-p", f"{item['name']}={item['value']}"]
    return args
