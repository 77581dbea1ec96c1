"""Maya runs this at startup (it is on the module's script path): add the lifecast menu once the UI is up."""

from __future__ import annotations

from maya import cmds, utils


def _add_menu() -> None:
    from lifecast_maya import menu

    menu.install()


if not cmds.about(batch=True):
    utils.executeDeferred(_add_menu)
