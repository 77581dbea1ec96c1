"""Building the panel for a host: the worker's Python, the show's defaults, the Qt parent.

Every host uses :func:`build_panel`: ``lifecast panel`` (standalone), Maya's
workspace control, Houdini's Python Panel. The worker must run in lifecast's own
venv, never in the DCC's Python, so its interpreter is the first that exists of:
the ``LIFECAST_WORKER_PYTHON`` environment variable (set by Maya's module file and
Houdini's package) and the path saved in the panel's settings; when neither exists
the panel still names the one it tried in its "could not start the worker" error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from lifecast_panel.controller import PanelController
from lifecast_panel.host import Host
from lifecast_panel.panel import LifecastPanel
from lifecast_panel.settings import PanelSettings
from lifecast_panel.worker_client import QProcessWorker

__all__ = ["WORKER_PYTHON_ENV", "build_panel", "resolve_worker_python"]

#: Environment variable naming the Python of the venv where lifecast is installed.
WORKER_PYTHON_ENV = "LIFECAST_WORKER_PYTHON"


def resolve_worker_python(settings: PanelSettings | None = None) -> str:
    """The worker's interpreter: ``$LIFECAST_WORKER_PYTHON`` or the saved one, whichever exists (in that order).

    Falls back to the first one given, then to this Python (right for ``lifecast panel``,
    which runs in lifecast's venv; wrong inside a DCC, whose install files set the variable).
    """
    from_env = os.environ.get(WORKER_PYTHON_ENV, "").strip()
    saved = (settings or PanelSettings()).saved_worker_python()
    for candidate in (from_env, saved):
        if candidate and Path(candidate).is_file():
            return candidate
    return from_env or saved or sys.executable


def build_panel(
    host: Host,
    worker_python: str | None = None,
    show: str = "",
    *,
    docked: bool = False,
    settings: PanelSettings | None = None,
) -> LifecastPanel:
    """A panel over a QProcess worker, with the show's saved defaults.

    Parameters
    ----------
    host
        The application the panel runs in.
    worker_python
        The worker's interpreter; by default :func:`resolve_worker_python`.
    show
        Use this show's saved parameter defaults.
    docked
        The host puts the panel into its own container (Maya's workspace control,
        Houdini's pane): no parent. Otherwise the panel is a window over the host's
        main window.
    """
    settings = settings or PanelSettings()
    worker = QProcessWorker(worker_python or resolve_worker_python(settings))
    controller = PanelController(host, worker, defaults=settings.show_defaults(show) if show else None)
    parent: QWidget | None = None if docked else host.main_window()
    panel = LifecastPanel(controller, parent=parent)
    if parent is not None:
        panel.setWindowFlag(Qt.WindowType.Window, True)  # a window over the host's, not drawn inside it
    worker.setParent(panel)
    return panel
