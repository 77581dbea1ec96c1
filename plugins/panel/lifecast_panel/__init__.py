"""The lifecast artist panel, shared by Maya, Houdini, Blender (as a window) and ``lifecast panel``.

Runs inside a DCC's own Python: stdlib and PySide6 only, never lifecast's core,
torch, open3d or numpy. Long work happens in a ``lifecast worker`` subprocess
that streams JSON-lines events (:mod:`lifecast_panel.protocol`).

Layers, as in maya-usd's ``usdSharedComponents`` and AYON's tools:

- :mod:`~lifecast_panel.host`: the ``Host`` ABC a DCC adapter implements, plus opt-in capabilities;
- :mod:`~lifecast_panel.controller`, :mod:`~lifecast_panel.models`: steps, parameters and run state, no Qt;
- :mod:`~lifecast_panel.textures`: the albedo files (raw bake, delit, shading) an exported asset holds, no Qt;
- :mod:`~lifecast_panel.worker_client`: the QProcess that runs the worker;
- :mod:`~lifecast_panel.widgets`, :mod:`~lifecast_panel.panel`: the Qt widgets.
"""

__version__ = "0.1.0"
