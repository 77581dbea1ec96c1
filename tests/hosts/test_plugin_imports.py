"""Code that runs inside a DCC imports the stdlib, Qt, the DCC and the panel only: never torch, numpy or the core."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.hosts.plugin_paths import PLUGINS

#: Top-level modules DCC-side code may import besides the standard library.
ALLOWED = {
    "PySide6",
    "shiboken6",
    "maya",
    "hou",
    "bpy",
    "bmesh",
    "mathutils",
    "addon_utils",
    "lifecast_panel",
    "lifecast_maya",
    "lifecast_houdini",
    "lifecast_blender",
}
FOLDERS = (
    "panel/lifecast_panel",
    "maya/scripts",
    "houdini/python3.11libs",
    "houdini/python_panels",
    "blender/lifecast_blender",
)


def _imports(source: str, name: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _sources() -> list[tuple[str, str]]:
    out = []
    for folder in FOLDERS:
        for path in sorted((PLUGINS / folder).rglob("*")):
            if path.suffix == ".py":
                out.append((str(path.relative_to(PLUGINS)), path.read_text(encoding="utf-8")))
            elif path.suffix == ".pypanel":
                text = path.read_text(encoding="utf-8")
                script = text.split("<![CDATA[", 1)[1].split("]]>", 1)[0]
                out.append((str(path.relative_to(PLUGINS)), script))
    return out


@pytest.mark.parametrize(("name", "source"), _sources(), ids=[n for n, _ in _sources()])
def test_dcc_side_code_imports_only_qt_the_dcc_and_the_panel(name: str, source: str) -> None:
    foreign = {m for m in _imports(source, name) if m not in ALLOWED and m not in sys.stdlib_module_names}
    assert not foreign, f"{name} imports {sorted(foreign)}: DCC-side code reaches the core through the worker"


def test_the_check_sees_a_forbidden_import() -> None:
    assert _imports("import numpy as np\nfrom lifecast.io import read_scan\n", "x") == {"numpy", "lifecast"}
    assert Path(PLUGINS / "maya" / "scripts" / "lifecast_maya" / "host.py").is_file()


def test_the_plugins_copies_of_the_exit_codes_and_headlines_follow_the_core() -> None:
    """The panel and the add-on cannot import ``lifecast.errors``: their copies must equal it and each other."""
    from tests.hosts.plugin_paths import add_plugin_paths

    add_plugin_paths()
    import lifecast_blender.run_state as blender
    import lifecast_blender.worker_client as blender_client

    import lifecast_panel.models as panel
    from lifecast import errors

    names = ("EXIT_OK", "EXIT_INTERNAL", "EXIT_BAD_INPUT", "EXIT_NO_CONSENT", "EXIT_INTERRUPTED")
    core_codes = {name: getattr(errors, name) for name in names}
    for copy in (blender, panel):
        assert {name: getattr(copy, name) for name in names} == core_codes, copy.__name__
    assert (blender_client.EXIT_INTERNAL, blender_client.EXIT_INTERRUPTED) == (
        errors.EXIT_INTERNAL,
        errors.EXIT_INTERRUPTED,
    )
    assert blender.ERROR_HEADLINES == panel.ERROR_HEADLINES
    assert blender.FAILED_HEADLINE == panel.FAILED_HEADLINE
    # Every exit code a run can fail with has its own headline, except a bug's, which takes the generic one.
    failures = set(core_codes.values()) - {errors.EXIT_OK, errors.EXIT_INTERNAL}
    assert set(panel.ERROR_HEADLINES) == failures


def test_the_panels_steps_name_stages_and_options_the_core_knows() -> None:
    """The panel hard-codes where each step stops and which job field each parameter sets: the core's names."""
    import dataclasses

    from tests.hosts.plugin_paths import add_plugin_paths

    add_plugin_paths()
    from lifecast.pipeline.options import MODEL_STAGES, STAGE_NAMES, WRAP_STAGE_NAMES, ProcessOptions
    from lifecast_panel.steps import STEPS

    fields = {f.name for f in dataclasses.fields(ProcessOptions)}
    stages = set(STAGE_NAMES) | set(WRAP_STAGE_NAMES)
    switched: set[str] = set()
    for step in STEPS:
        params = {p.name: p for p in step.params}
        assert all(p.job_key in fields for p in step.params), step.name
        for stage in (step.stop_after, step.stop_after_template):
            assert stage is None or stage in stages, (step.name, stage)
        for param, stage in step.runs_on:
            # a stage the step runs on to is a model stage, switched by the option of its own name
            assert stage in MODEL_STAGES and params[param].kind == "bool" and params[param].job_key == stage
            switched.add(stage)
    assert switched == set(MODEL_STAGES)  # every stage the core can switch off has its switch in the panel
