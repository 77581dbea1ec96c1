"""Serialising a stage's outputs into its cache directory and back.

A stage returns a mapping of named values. Each value is one of:

- :class:`~lifecast.mesh.TriMesh`, or a list of them (LOD chains),
- a numpy array,
- a :class:`StageFile`: a file the stage wrote into its work directory,
- anything JSON can hold (numbers, strings, lists, dicts: reports, summaries).

Arrays go into one ``values.npz`` (uncompressed: stages are I/O light and
compression costs seconds on million-triangle scans), the rest into
``values.json``. Files stay where the stage wrote them, inside the entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lifecast.jsonable import json_default
from lifecast.mesh import TriMesh

_VALUES_NPZ = "values.npz"
_VALUES_JSON = "values.json"


@dataclass(frozen=True)
class StageFile:
    """A file a stage wrote, relative to its cache entry's directory."""

    relpath: str
    root: Path

    @property
    def path(self) -> Path:
        return self.root / self.relpath


def save_values(values: Mapping[str, Any], directory: Path) -> None:
    """Write ``values`` (see module docstring) into ``directory``."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    for name, value in values.items():
        if "/" in name:
            raise ValueError(f"output names cannot contain '/': {name!r}")
        if isinstance(value, TriMesh):
            meta[name] = {"type": "mesh"}
            for field_name, arr in value.arrays().items():
                arrays[f"{name}/{field_name}"] = arr
        elif isinstance(value, list) and value and all(isinstance(v, TriMesh) for v in value):
            meta[name] = {"type": "mesh_list", "count": len(value)}
            for i, mesh in enumerate(value):
                for field_name, arr in mesh.arrays().items():
                    arrays[f"{name}/{i}/{field_name}"] = arr
        elif isinstance(value, np.ndarray):
            meta[name] = {"type": "array"}
            arrays[name] = value
        elif isinstance(value, StageFile):
            meta[name] = {"type": "file", "relpath": value.relpath}
        else:
            meta[name] = {"type": "json", "value": value}
    np.savez(directory / _VALUES_NPZ, **arrays)  # type: ignore[arg-type]
    (directory / _VALUES_JSON).write_text(json.dumps(meta, indent=1, default=json_default))


def load_values(directory: Path) -> dict[str, Any]:
    """Read values written by :func:`save_values`."""
    meta = json.loads((directory / _VALUES_JSON).read_text())
    with np.load(directory / _VALUES_NPZ, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    out: dict[str, Any] = {}
    for name, info in meta.items():
        kind = info["type"]
        if kind == "mesh":
            out[name] = _mesh_from(arrays, f"{name}/")
        elif kind == "mesh_list":
            out[name] = [_mesh_from(arrays, f"{name}/{i}/") for i in range(info["count"])]
        elif kind == "array":
            out[name] = arrays[name]
        elif kind == "file":
            out[name] = StageFile(info["relpath"], directory / "files")
        else:
            out[name] = info["value"]
    return out


def _mesh_from(arrays: Mapping[str, np.ndarray], prefix: str) -> TriMesh:
    fields = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix) and "/" not in k[len(prefix) :]}
    return TriMesh.from_arrays(fields)
