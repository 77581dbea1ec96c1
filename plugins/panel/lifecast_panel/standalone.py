"""``lifecast panel``: the same panel in a window of its own, outside any DCC."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from lifecast_panel.app import build_panel, resolve_worker_python
from lifecast_panel.host import Host, MessageLevel
from lifecast_panel.settings import PanelSettings

__all__ = ["StandaloneHost", "build_panel", "main"]


class StandaloneHost(Host):
    """No scene to import into and no selection: messages go to stderr, errors also to a dialog."""

    name = "standalone"

    def __init__(self, dialogs: bool = True) -> None:
        self.dialogs = dialogs
        self.messages: list[tuple[MessageLevel, str]] = []

    def main_window(self) -> QWidget | None:
        return None

    def report(self, message: str, level: MessageLevel = "info") -> None:
        self.messages.append((level, message))
        print(f"lifecast panel: {level}: {message}", file=sys.stderr)
        if self.dialogs and level == "error":
            QMessageBox.warning(None, "lifecast", message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifecast panel")
    parser.add_argument(
        "--worker-python",
        help="Python of the venv with lifecast (default: $LIFECAST_WORKER_PYTHON, else the saved one)",
    )
    parser.add_argument("--scan", type=Path, help="open with this scan picked")
    parser.add_argument("--show", default="", help="use this show's saved parameter defaults")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = PanelSettings()
    if args.worker_python:
        settings.worker_python = args.worker_python
    python = args.worker_python or resolve_worker_python(settings)  # asked for on the command line wins
    panel = build_panel(StandaloneHost(), python, args.show, settings=settings)
    if args.scan:
        panel.controller.set_scan(args.scan)
    panel.resize(760, 720)
    panel.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
