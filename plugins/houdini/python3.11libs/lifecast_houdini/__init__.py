"""lifecast in Houdini 21 (PySide6): the shared panel as a Python Panel interface.

Only ``hou``, PySide6 and :mod:`lifecast_panel` are imported here, never lifecast's
core, torch or numpy: the work runs in a ``lifecast worker`` process started with
the lifecast venv's Python (``LIFECAST_WORKER_PYTHON``, set by ``lifecast.json``).

- :mod:`lifecast_houdini.host`: :class:`~lifecast_houdini.host.HoudiniHost`, the adapter;
- :mod:`lifecast_houdini.panel`: what ``python_panels/lifecast.pypanel`` calls.
"""

__version__ = "0.1.0"
