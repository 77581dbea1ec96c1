"""lifecast in Maya 2025-2027 (PySide6): the shared panel docked in a workspace control.

Only Maya's own modules, PySide6 and :mod:`lifecast_panel` are imported here, never
lifecast's core, torch or numpy: the work runs in a ``lifecast worker`` process
started with the lifecast venv's Python (``LIFECAST_WORKER_PYTHON``, set by
``lifecast.mod``).

- :mod:`lifecast_maya.host`: :class:`~lifecast_maya.host.MayaHost`, the adapter;
- :mod:`lifecast_maya.dock`: the workspace control the panel lives in;
- :mod:`lifecast_maya.menu`: the ``lifecast`` menu in Maya's main menu bar.
"""

__version__ = "0.1.0"
