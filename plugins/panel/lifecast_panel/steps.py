"""The steps an artist walks through and their parameters, with the pipeline's defaults. No Qt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUILTIN_TEMPLATES",
    "PHOTO_PARAMS",
    "STEPS",
    "Param",
    "Step",
    "job_value",
    "last_stage",
    "param_applies",
    "param_defaults",
    "step_named",
]

#: Templates the core ships (``lifecast process --template``); a path to a template mesh works too.
BUILTIN_TEMPLATES = ("anny-head", "anny-body")


@dataclass(frozen=True)
class Param:
    """One parameter as the panel shows it.

    ``kind`` is ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``text``
    (free text; ``choices`` are suggestions), ``folder`` (a folder's path, picked or typed),
    ``path`` (a file's or a folder's path; ``file_filter`` names the files the file dialog
    offers) or ``int_list`` / ``text_list`` (comma separated). ``job_key`` is the key of the
    worker job it sets (a :class:`ProcessOptions`
    field). An ``optional`` parameter is left out of the job while it is empty, so a job
    without it runs exactly as before the option existed.

    ``only_with_template`` says in which mode of the pipeline the parameter is used:
    ``True`` only when a template is wrapped, ``False`` only when the scan is decimated
    (no template), ``None`` always. In the other mode the panel greys its editor out
    (``inactive_note`` becomes its tooltip) and the job gets the parameter's default
    instead of its value, so a value that does not apply never reaches the worker.
    """

    name: str
    label: str
    kind: str
    default: Any
    job_key: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    tooltip: str = ""
    optional: bool = False
    only_with_template: bool | None = None
    inactive_note: str = ""
    file_filter: str = ""


@dataclass(frozen=True)
class Step:
    """One step of the walk: the pipeline stage it runs up to (``None``: no run) and its parameters.

    ``stop_after_template`` replaces ``stop_after`` when a template is picked (the
    pipeline's ``wrap`` stage takes the place of ``lod``). ``runs_on`` names stages
    that follow ``stop_after`` and belong to this step, each with the ``bool``
    parameter that switches it on: the step runs on to the last one switched on
    (the bake runs on through ``delight`` and ``inpaint``; the worker refuses to
    stop after a stage that is switched off). ``runs_on_given`` names stages, before
    those, that the job has when an optional parameter is given: the bake runs on
    through ``photos`` when a Photos folder is given.
    """

    name: str
    title: str
    stop_after: str | None
    params: tuple[Param, ...] = ()
    runs: bool = True
    stop_after_template: str | None = None
    runs_on: tuple[tuple[str, str], ...] = ()
    runs_on_given: tuple[tuple[str, str], ...] = ()


#: The parameters of photo texturing, given together or not at all (``lifecast process --photos --cameras``).
PHOTO_PARAMS = ("photos", "cameras")

STEPS: tuple[Step, ...] = (
    Step("scan", "Scan", None, (), runs=False),
    Step(
        "inspect",
        "Inspect",
        None,
        (
            Param("units", "Scan units", "choice", "auto", "units", ("auto", "mm", "cm", "m")),
            Param("up", "Up axis", "choice", "auto", "up", ("auto", "y", "z")),
        ),
    ),
    Step(
        "clean",
        "Clean",
        "clean",
        (
            Param("fill_holes", "Fill holes up to (mm)", "float", 15.0, "fill_holes_mm", minimum=0.0, maximum=500.0),
            Param("keep_ground", "Keep ground plane", "bool", False, "remove_ground_plane"),
        ),
    ),
    Step(
        "wrap",
        "Wrap or decimate",
        "lod",
        (
            Param(
                "template",
                "Template",
                "text",
                "",
                "template",
                ("", *BUILTIN_TEMPLATES),
                tooltip="Empty: decimate the scan into LODs. anny-head, anny-body or a template mesh file "
                "(OBJ/USD with UVs): wrap the template onto the scan, keeping the template's topology and UVs.",
                optional=True,
            ),
            Param(
                "template_landmarks",
                "Template landmarks",
                "text",
                "",
                "template_landmarks",
                tooltip="The template's markup JSON (landmarks and region masks); built-in templates carry their own.",
                optional=True,
                only_with_template=True,
                inactive_note="Only used when wrapping a template: pick a template first.",
            ),
            Param(
                "lods",
                "Triangles per LOD",
                "int_list",
                (100_000, 25_000, 5_000),
                "lods",
                tooltip="Triangle counts of the decimated LODs, most detailed first.",
                only_with_template=False,
                inactive_note="Ignored when wrapping a template: the wrap makes one LOD on the template's topology.",
            ),
        ),
        stop_after_template="wrap",
    ),
    Step(
        "uv",
        "UV",
        "uv",
        (
            Param(
                "udims",
                "UDIM tiles",
                "int",
                1,
                "udims",
                minimum=1,
                maximum=100,
                only_with_template=False,
                inactive_note="Ignored when wrapping a template: the template's own UV layout is kept.",
            ),
            Param(
                "keep_uvs",
                "Keep the scan's UVs",
                "bool",
                False,
                "keep_uvs",
                only_with_template=False,
                inactive_note="Ignored when wrapping a template: the template's UVs are kept.",
            ),
        ),
    ),
    Step(
        "texture",
        "Bake",
        "texture",
        (
            Param(
                "texture_size",
                "Texture size",
                "choice",
                "4096",
                "texture_size",
                ("256", "512", "1024", "2048", "4096", "8192"),
            ),
            Param(
                "maps",
                "Maps",
                "text_list",
                ("albedo", "normal", "displacement"),
                "maps",
                tooltip="Maps to bake, comma separated: albedo, normal, displacement, object_normal, ao, cavity, "
                "holes.",
            ),
            Param(
                "delight",
                "Delight albedo",
                "bool",
                True,
                "delight",
                tooltip="Remove the capture's lighting from the baked albedo (the delight stage). The raw bake and "
                "the shading removed are kept beside the asset's albedo, to compare.",
            ),
            Param(
                "inpaint",
                "Fill holes (inpaint)",
                "bool",
                True,
                "inpaint",
                tooltip="Fill the texels the scan did not reach, and the gutters between UV charts, from their "
                "neighbours on the surface (the inpaint stage). Off: the bake's edge padding only.",
            ),
            Param(
                "photos",
                "Photos",
                "folder",
                "",
                "photos",
                tooltip="The capture's photos folder: the albedo is projected from the photos (the photos stage) "
                "instead of baked from the scan's colours. Needs Cameras; empty: bake the scan's colours.",
                optional=True,
            ),
            Param(
                "cameras",
                "Cameras",
                "path",
                "",
                "cameras",
                tooltip="The photos' calibrated cameras, in the scan file's frame and units: a COLMAP model folder, "
                "a Metashape .xml, an AliceVision .sfm/.json, or the photos folder when RealityCapture .xmp "
                "sidecars sit beside the photos.",
                optional=True,
                file_filter="Camera rigs (*.xml *.sfm *.json *.txt *.bin *.xmp);;All files (*)",
            ),
        ),
        runs_on=(("delight", "delight"), ("inpaint", "inpaint")),
        runs_on_given=(("photos", "photos"),),
    ),
    Step(
        "export",
        "Export",
        "export",
        (Param("asset_units", "Asset units", "choice", "cm", "asset_units", ("mm", "cm", "m")),),
    ),
)


def step_named(name: str) -> Step:
    for step in STEPS:
        if step.name == name:
            return step
    raise KeyError(f"no step named {name!r}: one of {', '.join(s.name for s in STEPS)}")


def param_defaults() -> dict[str, Any]:
    """Every parameter's default, by parameter name."""
    return {p.name: p.default for s in STEPS for p in s.params}


def param_applies(param: Param, template: str) -> bool:
    """Whether ``param`` is used in the mode ``template`` picks (``""``: decimate, anything else: wrap)."""
    if param.only_with_template is None:
        return True
    return param.only_with_template == bool(str(template).strip())


def last_stage(step: Step, params: dict[str, Any], template: str) -> str | None:
    """The stage ``step`` runs up to with these parameter values (by name) and template (``""``: none).

    ``stop_after_template`` when a template is picked, then the last of ``runs_on_given`` whose
    parameter is given and of ``runs_on`` whose parameter is on: the bake step stops after
    ``inpaint``, ``delight``, ``photos`` or ``texture``.
    """
    stage = step.stop_after_template if str(template).strip() and step.stop_after_template else step.stop_after
    for param, name in step.runs_on_given:
        if str(params.get(param) or "").strip():
            stage = name
    for param, name in step.runs_on:
        if bool(params.get(param)):
            stage = name
    return stage


def job_value(param: Param, value: Any) -> Any:
    """A parameter's value as the worker job wants it (``None`` for an empty ``optional`` one)."""
    if param.optional and (value is None or str(value).strip() == ""):
        return None
    if param.kind in ("text", "folder", "path"):
        return str(value).strip()
    if param.name == "keep_ground":
        return not bool(value)  # the job field is remove_ground_plane
    if param.kind == "choice" and value == "auto":
        return None
    if param.name == "texture_size":
        return int(value)
    if param.kind in ("int_list", "text_list"):
        items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
        items = [v for v in items if v != ""]
        return [int(v) for v in items] if param.kind == "int_list" else [str(v) for v in items]
    return value
