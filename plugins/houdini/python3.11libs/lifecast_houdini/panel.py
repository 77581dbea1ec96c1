"""What ``python_panels/lifecast.pypanel`` calls, and a floating window for shelf tools."""

from __future__ import annotations

from lifecast_houdini.host import HoudiniHost
from lifecast_panel.app import build_panel
from lifecast_panel.panel import LifecastPanel

__all__ = ["create_interface", "show_floating"]


def create_interface() -> LifecastPanel:
    """The Python Panel's ``onCreateInterface``: a panel Houdini parents into the pane tab."""
    return build_panel(HoudiniHost(), docked=True)


def show_floating() -> LifecastPanel:
    """The panel as a window over Houdini's main window (for a shelf tool)."""
    panel = build_panel(HoudiniHost())
    panel.show()
    return panel
