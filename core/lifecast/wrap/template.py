"""Wrap templates: a mesh with UVs, named landmarks and region masks.

A template is read from a mesh file (OBJ, polygons kept) and a *markup* JSON
file. The markup is either a plain landmark object, ``{"nose_tip": 1447}``, or::

    {
      "kind": "head",
      "landmarks": {"nose_tip": 1447, "chin": {"vertices": [10, 11, 12], "weights": [0.2, 0.3, 0.5]}},
      "exclude": [[11248, 26718]],
      "rigid": [[17039, 21450]]
    }

A landmark is a vertex index or a barycentric point (``vertices`` and
``weights``). ``exclude`` lists vertices that are never pulled onto a scan
(eyeballs, teeth, mouth interior): they follow their neighbours rigidly.
``rigid`` lists parts fitted to the scan as one rigid body. Both are lists of
vertex indices and inclusive ``[first, last]`` ranges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.wrap.polygon_obj import PolygonMesh, read_polygon_obj


@dataclass(frozen=True)
class LandmarkPoint:
    """A point on the template: ``sum(weights[k] * vertices[indices[k]])``.

    Attributes
    ----------
    indices
        ``(3,) int64`` vertex indices.
    weights
        ``(3,) float64`` barycentric weights summing to 1.
    """

    indices: NDArray[np.int64]
    weights: NDArray[np.float64]


@dataclass(frozen=True)
class Template:
    """A wrap template.

    Attributes
    ----------
    name
        Shown in reports.
    polygons
        The template as read (polygons and UVs kept, for writing the output).
    faces
        ``(m, 3) int64`` fan triangulation of the polygons (what the solver uses).
    landmarks
        Named points on the template, the vocabulary of scan landmarks.
    exclude
        ``(n,) bool``: vertices never pulled onto the scan.
    rigid
        ``(n,) bool``: vertices fitted as one rigid body per connected part.
    kind
        What the template is of (``"head"``, ``"body"``, ...), for messages.
    """

    name: str
    polygons: PolygonMesh
    faces: NDArray[np.int64]
    landmarks: dict[str, LandmarkPoint] = field(default_factory=dict)
    exclude: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    rigid: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    kind: str = "head"

    @property
    def vertices(self) -> NDArray[np.float64]:
        """``(n, 3) float64`` template positions."""
        return self.polygons.vertices

    @property
    def fit_mask(self) -> NDArray[np.bool_]:
        """``(n,) bool``: vertices pulled onto the scan (not excluded, used by a face)."""
        used = np.zeros(len(self.vertices), bool)
        used[self.faces.ravel()] = True
        return used & ~self.exclude

    def landmark_positions(self, names: list[str], vertices: NDArray[np.floating] | None = None) -> NDArray[np.float64]:
        """``(k, 3) float64`` positions of the named landmarks on ``vertices`` (default: the template's)."""
        v = self.vertices if vertices is None else np.asarray(vertices, np.float64)
        return np.stack([(v[self.landmarks[n].indices] * self.landmarks[n].weights[:, None]).sum(0) for n in names])


def template_from_arrays(
    name: str,
    polygons: PolygonMesh,
    markup: dict[str, Any],
    *,
    source: Path | None = None,
    require_uvs: bool = True,
) -> Template:
    """Build a :class:`Template` from a polygon mesh and a parsed markup object."""
    if require_uvs and not polygons.has_uvs:
        raise InputError(
            "the template has no UVs on every face: a wrap is meant to carry a texture layout over", source
        )
    n = len(polygons.vertices)
    faces, _, _ = polygons.triangles()
    body = markup if "landmarks" in markup else {"landmarks": markup}
    raw = body.get("landmarks", {})
    if not isinstance(raw, dict):
        raise InputError("template markup 'landmarks' must be an object of name -> vertex index", source)
    landmarks = {str(k): _landmark_point(k, v, n, source) for k, v in raw.items()}
    return Template(
        name=name,
        polygons=polygons,
        faces=faces,
        landmarks=landmarks,
        exclude=index_mask(body.get("exclude", []), n, "exclude", source),
        rigid=index_mask(body.get("rigid", []), n, "rigid", source),
        kind=str(body.get("kind", "head")),
    )


def load_template(mesh_path: Path, markup_path: Path | None = None, *, require_uvs: bool = True) -> Template:
    """Read a template mesh (OBJ) and its markup JSON (landmarks, regions).

    Raises
    ------
    InputError
        Unreadable files, a mesh without UVs (unless ``require_uvs`` is False),
        landmark or region indices outside the mesh.
    """
    if not mesh_path.is_file():
        raise InputError("template mesh not found", mesh_path)
    if mesh_path.suffix.lower() != ".obj":
        raise InputError("templates are read from OBJ files (polygons and UVs kept)", mesh_path)
    polygons = read_polygon_obj(mesh_path)
    markup: dict[str, Any] = {}
    if markup_path is not None:
        markup = read_json_object(markup_path, "template landmarks")
    return template_from_arrays(mesh_path.stem, polygons, markup, source=markup_path, require_uvs=require_uvs)


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """Read a JSON file that must hold an object."""
    if not path.is_file():
        raise InputError(f"{what} file not found", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} file is not valid JSON: {exc}", path) from None
    if not isinstance(data, dict):
        raise InputError(f"{what} file must hold a JSON object", path)
    return data


def index_mask(spec: Any, n: int, what: str, source: Path | None = None) -> NDArray[np.bool_]:
    """``(n,) bool`` from a list of indices and inclusive ``[first, last]`` ranges."""
    mask = np.zeros(n, bool)
    if not isinstance(spec, list):
        raise InputError(f"template markup '{what}' must be a list of indices and [first, last] ranges", source)
    for item in spec:
        if isinstance(item, int) and 0 <= item < n:
            mask[item] = True
        elif (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(i, int) for i in item)
            and 0 <= item[0] <= item[1] < n
        ):
            mask[item[0] : item[1] + 1] = True
        else:
            raise InputError(
                f"template markup '{what}' has {item!r}, not an index or range within {n} vertices", source
            )
    return mask


def _landmark_point(name: object, value: Any, n: int, source: Path | None) -> LandmarkPoint:
    if isinstance(value, int) and not isinstance(value, bool):
        idx, w = [value] * 3, [1.0, 0.0, 0.0]
    elif isinstance(value, dict) and "vertices" in value and "weights" in value:
        idx, w = list(value["vertices"]), [float(x) for x in value["weights"]]
    else:
        raise InputError(
            f"landmark {name!r}: expected a vertex index or {{'vertices': [...], 'weights': [...]}}", source
        )
    if len(idx) != len(w) or not 1 <= len(idx) <= 3 or not all(isinstance(i, int) and 0 <= i < n for i in idx):
        raise InputError(f"landmark {name!r}: vertex indices must lie in 0..{n - 1}", source)
    weights = np.zeros(3)
    weights[: len(w)] = w
    indices = np.asarray(idx + [idx[0]] * (3 - len(idx)), np.int64)
    if not abs(weights.sum() - 1.0) < 1e-3:
        raise InputError(f"landmark {name!r}: weights must sum to 1", source)
    return LandmarkPoint(indices, weights)
