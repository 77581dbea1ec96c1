"""lifecast for Blender 5.0: a sidebar panel that runs ``lifecast worker`` and imports the USD asset.

A Blender extension (``blender_manifest.toml``, id ``lifecast``). Blender's Python
never imports lifecast's core, torch or numpy 2: the work happens in a
``<worker python> -m lifecast.worker`` child process (the lifecast venv's Python,
set in the add-on preferences or ``$LIFECAST_WORKER_PYTHON``) that streams
JSON-lines events.

Layers, as in glTF-Blender-IO (pure io, bpy only at the edge):

- no bpy, unit-tested outside Blender: :mod:`.protocol` (event lines),
  :mod:`.run_state` (events -> what the panel shows), :mod:`.jobs` (settings ->
  worker job), :mod:`.landmarks` (the landmarks JSON), :mod:`.worker_client`
  (Popen + reader thread + queue), :mod:`.session` (client + state + pump);
- bpy: :mod:`.properties` (settings, run info, preferences), :mod:`.operators`,
  :mod:`.ui` (View3D > Sidebar > lifecast).

This module imports bpy only inside :func:`register`, so the pure modules can be
imported (``lifecast_blender.jobs``) in a Python without Blender.
"""

from __future__ import annotations

__version__ = "0.1.0"


def register() -> None:
    from . import operators, properties, ui

    properties.register()
    operators.register()
    ui.register()


def unregister() -> None:
    from . import operators, properties, ui

    ui.unregister()
    operators.unregister()
    properties.unregister()
