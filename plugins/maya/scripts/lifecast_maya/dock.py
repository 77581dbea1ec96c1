"""The panel in a Maya workspace control, so it docks, and comes back with the saved layout.

:func:`show` creates the control the first time (``retain=True``: closing it only
hides it) and puts the panel in it. The control's ``uiScript`` calls :func:`restore`,
which Maya runs when it rebuilds the control from a saved workspace at startup;
``lifecast.mod`` puts this package on ``PYTHONPATH`` so the import works then.
"""

from __future__ import annotations

import shiboken6
from maya import cmds

from lifecast_maya.host import MayaHost, mqtutil
from lifecast_panel.app import build_panel
from lifecast_panel.panel import LifecastPanel

__all__ = ["CONTROL", "UI_SCRIPT", "close", "panel", "restore", "show"]

#: The workspace control's name (saved in Maya's workspaces).
CONTROL = "lifecastPanelWorkspaceControl"
#: What Maya runs to fill the control when it restores it (Python: the control is created from Python).
UI_SCRIPT = "import lifecast_maya.dock; lifecast_maya.dock.restore()"

_panel: LifecastPanel | None = None


def panel() -> LifecastPanel | None:
    """The panel shown in the control, if it exists and Qt has not deleted it."""
    if _panel is not None and shiboken6.isValid(_panel):
        return _panel
    return None


def show() -> LifecastPanel:
    """Open the panel docked in its workspace control (creating both the first time); returns the panel."""
    if cmds.workspaceControl(CONTROL, exists=True):
        current = panel() or _fill()
        cmds.workspaceControl(CONTROL, edit=True, restore=True)
        return current
    cmds.workspaceControl(
        CONTROL,
        label="lifecast",
        retain=True,
        floating=True,
        initialWidth=520,
        initialHeight=760,
        minimumWidth=360,
    )
    # uiScript set after creation, so Maya does not also run it now (it would build a second panel).
    cmds.workspaceControl(CONTROL, edit=True, uiScript=UI_SCRIPT)
    return _fill()


def restore() -> LifecastPanel:
    """The control's ``uiScript``: Maya rebuilt the control (a saved layout); put a panel in it."""
    return _fill()


def close() -> None:
    """Remove the control and the panel (its worker is stopped with it)."""
    global _panel
    if cmds.workspaceControl(CONTROL, exists=True):
        cmds.deleteUI(CONTROL, control=True)
    _panel = None


def _fill() -> LifecastPanel:
    """Parent the panel (made once per session) into the workspace control's layout."""
    global _panel
    current = panel()
    if current is None:
        current = build_panel(MayaHost(), docked=True)
        _panel = current
    control = mqtutil().findControl(CONTROL)
    if control is None:
        raise RuntimeError(f"Maya has no workspace control {CONTROL!r} to put the panel in")
    widget_pointer = shiboken6.getCppPointer(current)[0]
    mqtutil().addWidgetToMayaLayout(int(widget_pointer), int(control))
    return current
