"""Make the DCC plugin packages importable in tests, as a DCC's module/package file does.

``lifecast_panel`` is installed with the ``ui`` extra once pyproject maps it; until then (and for the
host adapters, which are never pip-installed) their folders go on ``sys.path``.
"""

from __future__ import annotations

import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
#: Where each host's Python packages live, as its install file puts them on the path:
#: Maya's module adds ``scripts``, Houdini's package ``python3.11libs``.
PACKAGE_FOLDERS = ("panel", "maya/scripts", "houdini/python3.11libs", "blender")


def add_plugin_paths() -> None:
    for folder in PACKAGE_FOLDERS:
        path = str(PLUGINS / folder)
        if (PLUGINS / folder).is_dir() and path not in sys.path:
            sys.path.insert(0, path)
