"""Template wrap: any template onto any scan, one consistent topology for every scan of a show.

Public API (imported lazily: importing :mod:`lifecast.wrap` does not import torch)::

    from lifecast.wrap import load_template, read_scan_landmarks, wrap_scan
    result = wrap_scan(scan_mesh, load_template(Path("t.obj"), Path("t.json")), scan_landmarks=..., device="cpu")
    result.write(Path("wrapped.obj")); result.report.as_dict(); result.fit_distance
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Template": "lifecast.wrap.template",
    "load_template": "lifecast.wrap.template",
    "read_scan_landmarks": "lifecast.wrap.landmarks",
    "RefineSettings": "lifecast.wrap.nonrigid",
    "WrapResult": "lifecast.wrap.wrap",
    "wrap_scan": "lifecast.wrap.wrap",
    "WrapReport": "lifecast.wrap.report",
    "resolve_template": "lifecast.wrap.builtin",
    "template_identity": "lifecast.wrap.builtin",
    "fit_phenotype": "lifecast.wrap.phenotype",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lifecast.wrap' has no attribute {name!r}")
