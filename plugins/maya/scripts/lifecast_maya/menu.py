"""A ``lifecast`` menu in Maya's main menu bar (added by ``userSetup.py`` once Maya's UI is up)."""

from __future__ import annotations

from typing import Any

from maya import cmds

__all__ = ["MENU", "install"]

MENU = "lifecastMenu"


def _show(*_: Any) -> None:
    from lifecast_maya import dock

    dock.show()


def install() -> str:
    """(Re)create the menu; returns its name. Does nothing useful in batch mode (no main window)."""
    if cmds.menu(MENU, exists=True):
        cmds.deleteUI(MENU, menu=True)
    menu = cmds.menu(MENU, label="lifecast", parent="MayaWindow", tearOff=True)
    cmds.menuItem(label="Scan to asset panel", annotation="Open the lifecast panel", command=_show, parent=menu)
    return menu
