"""Make the DCC plugin packages importable in tests, as a DCC's module/package file does.

``lifecast_panel`` is installed with the ``ui`` extra once pyproject maps it; until then (and for the
host adapters, which are never pip-installed) their folders go on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def add_plugin_paths() -> None:
    for folder in ("panel", "maya", "houdini", "blender"):
        path = str(PLUGINS / folder)
        if (PLUGINS / folder).is_dir() and path not in sys.path:
            sys.path.insert(0, path)
