"""ICT-FaceKit's generic face as a wrap template (github.com/ICT-VGL/ICT-FaceKit, MIT).

The landmark indices and part ranges are those of ICT-FaceKit's README: the 68
Multi-PIE landmarks, the face and head/neck (fitted to a scan), and the mouth
socket, eye sockets, gums, teeth, eyeballs, lacrimal fluid, eye blends,
occlusion meshes and eyelashes (excluded: they follow the face rigidly).
The mesh is in centimetres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.wrap.polygon_obj import read_polygon_obj
from lifecast.wrap.template import Template, template_from_arrays

#: Multi-PIE 68-point landmark vertex indices, in Multi-PIE order (0-based).
MULTI_PIE_68 = (
    1225, 1888, 1052, 367, 1719, 1722, 2199, 1447, 966, 3661, 4390, 3927, 3924, 2608, 3272, 4088, 3443, 268, 493,
    1914, 2044, 1401, 3615, 4240, 4114, 2734, 2509, 978, 4527, 4942, 4857, 1140, 2075, 1147, 4269, 3360, 1507, 1542,
    1537, 1528, 1518, 1511, 3742, 3751, 3756, 3721, 3725, 3732, 5708, 5695, 2081, 0, 4275, 6200, 6213, 6346, 6461,
    5518, 5957, 5841, 5702, 5711, 5533, 6216, 6207, 6470, 5517, 5966,
)  # fmt: skip
#: Vertices of the full face area (README "Face Area Details").
FACE_AREA = (0, 9408)
#: Face plus head and neck: the parts a scan shows.
FITTED = (0, 11247)
#: Every vertex after the head and neck (mouth socket ... eyelashes).
EXCLUDED = (11248, 26718)
#: Ten landmarks a quick artist would click (Multi-PIE numbers): eye corners, nose tip and base, mouth corners,
#: chin, nasion.
TEN = (36, 39, 42, 45, 30, 33, 48, 54, 8, 27)


def ict_markup() -> dict[str, object]:
    """Template markup (see :mod:`lifecast.wrap.template`) for ``generic_neutral_mesh.obj``."""
    return {
        "kind": "head",
        "landmarks": {f"multipie_{k:02d}": int(v) for k, v in enumerate(MULTI_PIE_68)},
        "exclude": [list(EXCLUDED)],
    }


def ict_template(mesh_path: Path) -> Template:
    """ICT-FaceKit's ``generic_neutral_mesh.obj`` (or an identity on its topology) as a template."""
    return template_from_arrays("ict_generic_neutral", read_polygon_obj(mesh_path), ict_markup(), source=mesh_path)


def landmark_name(k: int) -> str:
    """The markup name of Multi-PIE landmark ``k`` (0-67)."""
    return f"multipie_{k:02d}"


def face_area_errors(vertices: NDArray[np.floating], truth: NDArray[np.floating]) -> NDArray[np.float64]:
    """``(9409,)`` distances between a wrapped ICT template and the ground truth over ICT's face area."""
    n = FACE_AREA[1] + 1
    return np.asarray(
        np.linalg.norm(np.asarray(vertices, np.float64)[:n] - np.asarray(truth, np.float64)[:n], axis=1), np.float64
    )
