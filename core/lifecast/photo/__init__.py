"""Photo texturing: a photogrammetry session's calibrated photos projected onto any mesh's UV tiles.

:func:`project_photos` is the entry point (:mod:`lifecast.photo.project` describes the steps),
:func:`write_projection` writes its files; :mod:`lifecast.photo.synthetic` renders a capture with a known
albedo for tests and benchmarks. Names are imported on first use, so ``lifecast.photo.commands`` (the CLI)
stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifecast.photo.output import write_projection
    from lifecast.photo.project import PhotoReport, ProjectionResult, ProjectionSettings, project_photos

_WHERE = {
    "PhotoReport": "lifecast.photo.project",
    "ProjectionResult": "lifecast.photo.project",
    "ProjectionSettings": "lifecast.photo.project",
    "project_photos": "lifecast.photo.project",
    "write_projection": "lifecast.photo.output",
}

__all__ = ["PhotoReport", "ProjectionResult", "ProjectionSettings", "project_photos", "write_projection"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'lifecast.photo' has no attribute {name!r}")
