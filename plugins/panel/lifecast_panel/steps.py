"""The steps an artist walks through and their parameters, with the pipeline's defaults. No Qt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BUILTIN_TEMPLATES", "STEPS", "Param", "Step", "job_value", "param_applies", "param_defaults", "step_named"]

#: Templates the core ships (``lifecast process --template``); a path to a template mesh works too.
BUILTIN_TEMPLATES = ("anny-head", "anny-body")


@dataclass(frozen=True)
class Param:
    """One parameter as the panel shows it.

    ``kind`` is ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``text``
    (free text; ``choices`` are suggestions) or ``int_list`` / ``text_list`` (comma
    separated). ``job_key`` is the key of the worker job it sets (a :class:`ProcessOptions`
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


@dataclass(frozen=True)
class Step:
    """One step of the walk: the pipeline stage it runs up to (``None``: no run) and its parameters.

    ``stop_after_template`` replaces ``stop_after`` when a template is picked (the
    pipeline's ``wrap`` stage takes the place of ``lod``).
    """

    name: str
    title: str
    stop_after: str | None
    params: tuple[Param, ...] = ()
    runs: bool = True
    stop_after_template: str | None = None


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
            Param("maps", "Maps", "text_list", ("albedo", "normal", "displacement"), "maps"),
        ),
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


def job_value(param: Param, value: Any) -> Any:
    """A parameter's value as the worker job wants it (``None`` for an empty ``optional`` one)."""
    if param.optional and (value is None or str(value).strip() == ""):
        return None
    if param.kind == "text":
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
