"""What the panel remembers between sessions (QSettings): the worker's Python, last folders, defaults per show."""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import QSettings

__all__ = ["PanelSettings"]


class PanelSettings:
    """Typed access to the panel's QSettings (organisation ``lifecast``, application ``panel``)."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._s = settings if settings is not None else QSettings("lifecast", "panel")

    @property
    def worker_python(self) -> str:
        """Python of the venv where lifecast is installed (not the DCC's own)."""
        return str(self._s.value("worker/python", sys.executable))

    @worker_python.setter
    def worker_python(self, path: str) -> None:
        self._s.setValue("worker/python", path)

    def saved_worker_python(self) -> str | None:
        """The worker Python saved by the user, ``None`` when none was."""
        value = self._s.value("worker/python", None)
        return str(value) if value else None

    def last_folder(self, kind: str) -> str:
        return str(self._s.value(f"folders/{kind}", ""))

    def set_last_folder(self, kind: str, folder: str) -> None:
        self._s.setValue(f"folders/{kind}", folder)

    def show_defaults(self, show: str) -> dict[str, Any]:
        """Parameter defaults saved for a show (empty when none)."""
        raw = self._s.value(f"shows/{show}/defaults", "")
        try:
            data = json.loads(str(raw)) if raw else {}
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    def set_show_defaults(self, show: str, values: dict[str, Any]) -> None:
        self._s.setValue(f"shows/{show}/defaults", json.dumps(values))

    def sync(self) -> None:
        self._s.sync()
