"""``wrap_scan``: a template wrapped onto a scan, vertex ``i`` staying vertex ``i``.

Steps: align (similarity from landmarks, or the automatic start), for a
template with a shape model (anny) a fit of its phenotype parameters
(:mod:`lifecast.wrap.phenotype`), non-rigid refinement of the fitted vertices
(:mod:`lifecast.wrap.nonrigid`), rigid parts and excluded parts placed
(:mod:`lifecast.wrap.parts`), then the residual report (:mod:`lifecast.wrap.report`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress, scaled_progress
from lifecast.wrap.align import automatic_alignment
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.landmarks import check_scan_landmarks
from lifecast.wrap.nonrigid import DEFAULT_SETTINGS, LandmarkTerm, RefineSettings, refine_nonrigid
from lifecast.wrap.parts import follow_neighbours, make_rigid
from lifecast.wrap.polygon_obj import PolygonMesh, write_polygon_obj
from lifecast.wrap.report import WrapReport, broken_faces, build_report
from lifecast.wrap.similarity import Similarity, umeyama
from lifecast.wrap.template import Template

if TYPE_CHECKING:
    from lifecast.wrap.phenotype import PhenotypeFit

#: A scan with fewer vertices than this share of the template's fitted vertices is refused.
MIN_SCAN_DENSITY = 0.1
#: Landmark RMS after the similarity above this share of the template's size: the landmarks do not fit it.
MAX_LANDMARK_MISFIT = 0.15
#: Automatic alignment RMS above this share of the template's radius: the scan does not look like the template.
MAX_AUTO_MISFIT = 0.06
#: Mean non-rigid displacement above this share of the template's radius: the template had to be bent far.
MAX_MEAN_BEND = 0.08


@dataclass(frozen=True)
class WrapResult:
    """A wrapped template.

    Attributes
    ----------
    vertices
        ``(n, 3) float32`` template vertices on the scan, in the scan's units and frame.
    template
        The template (faces, UVs and polygons of the output).
    fit_distance
        ``(n,) float32`` distance of each vertex to the scan surface (NaN for excluded vertices).
    alignment
        The template-to-scan similarity found before the non-rigid fit.
    report
        The residual report.
    phenotype
        The fitted shape-model parameters (anny's phenotype), ``None`` without a shape fit.
    """

    vertices: NDArray[np.float32]
    template: Template
    fit_distance: NDArray[np.float32]
    alignment: Similarity
    report: WrapReport
    phenotype: dict[str, float] | None = None

    def polygon_mesh(self) -> PolygonMesh:
        """The wrapped template with its own polygons and UVs."""
        return replace(self.template.polygons, vertices=self.vertices.astype(np.float64))

    def polygon_corners(self) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.int32] | None]:
        """The template's polygons laid out as USD stores faces; :meth:`mesh` is their fan triangulation.

        Returns
        -------
        counts
            ``(p,) int32`` corners of each polygon (4 for a quad).
        corner_vertices
            ``(c,) int32`` vertex index of every corner, polygon after polygon.
        corner_uvs
            ``(c,) int32`` index into :meth:`mesh`'s ``uvs`` of every corner, ``None`` without UVs.
        """
        polygons = self.template.polygons
        counts = np.diff(polygons.polygon_starts).astype(np.int32)
        corner_uvs = polygons.corner_uvs.astype(np.int32) if polygons.has_uvs else None
        return counts, polygons.corner_vertices.astype(np.int32), corner_uvs

    def mesh(self) -> TriMesh:
        """The wrapped template as a triangulated :class:`TriMesh` with the template's UVs (for the pipeline).

        Each polygon is fan-triangulated from its first corner (:meth:`PolygonMesh.triangles`): a quad
        ``(a, b, c, d)`` becomes ``(a, b, c), (a, c, d)``.
        """
        faces, face_uvs, _ = self.template.polygons.triangles()
        has_uvs = self.template.polygons.has_uvs
        return TriMesh(
            vertices=self.vertices,
            faces=faces.astype(np.int32),
            uvs=self.template.polygons.uvs.astype(np.float32) if has_uvs else None,
            face_uvs=face_uvs.astype(np.int32) if has_uvs else None,
        )

    def write(self, path: Path) -> None:
        """Write the wrapped mesh: ``.obj`` keeps the template's polygons and UVs, ``.ply`` is triangulated."""
        suffix = path.suffix.lower()
        if suffix == ".obj":
            write_polygon_obj(path, self.polygon_mesh(), header=f"wrapped with lifecast, template {self.template.name}")
        elif suffix == ".ply":
            import trimesh

            m = self.mesh()
            trimesh.Trimesh(m.vertices, m.faces, process=False).export(path)
        else:
            raise InputError("the wrapped mesh is written as .obj or .ply", path)


def wrap_scan(
    scan: TriMesh,
    template: Template,
    *,
    scan_landmarks: dict[str, NDArray[np.float64]] | None = None,
    device: str = "cpu",
    settings: RefineSettings = DEFAULT_SETTINGS,
    fit_shape: bool = True,
    progress: ProgressFn = no_progress,
) -> WrapResult:
    """Wrap ``template`` onto ``scan``.

    Parameters
    ----------
    scan
        The scan, a triangle mesh in any units and pose.
    template
        The template (see :func:`lifecast.wrap.template.load_template`).
    scan_landmarks
        Named points on the scan, ``{"nose_tip": (3,) array}``, in the scan's frame;
        ``None`` for the automatic start.
    device
        Torch device of the non-rigid solve (``"cpu"``, ``"cuda"``).
    fit_shape
        Fit the template's shape model (anny's phenotype) before the non-rigid
        refinement, when it has one.

    Raises
    ------
    InputError
        A point cloud, a scan far sparser than the template, unusable landmarks,
        or landmarks that a similarity cannot bring onto the template's.
    """
    fit_mask = template.fit_mask
    _check_scan(scan, int(fit_mask.sum()))
    surface = ScanSurface(scan.vertices, scan.faces)
    fit_faces = template.faces[fit_mask[template.faces].all(1)]
    notes: list[str] = []
    reasons: list[str] = []
    size = _size(template.vertices[fit_mask])
    term: LandmarkTerm | None = None
    if scan_landmarks:
        progress(0.0, "aligning from landmarks")
        names = check_scan_landmarks(scan_landmarks, template, surface)
        src = template.landmark_positions(names)
        dst = np.stack([scan_landmarks[n] for n in names])
        alignment = umeyama(src, dst)
        misfit = float(np.sqrt(np.mean(np.sum((alignment.apply(src) - dst) ** 2, 1)))) / (alignment.scale * size)
        if misfit > MAX_LANDMARK_MISFIT:
            raise InputError(
                f"the {len(names)} landmarks do not match the template's ({misfit:.0%} of its size off after the "
                "best similarity): are they mislabelled, or on another kind of subject?"
            )
        term = LandmarkTerm(
            indices=np.stack([template.landmarks[n].indices for n in names]),
            weights=np.stack([template.landmarks[n].weights for n in names]),
            targets=dst,
        )
        notes.append(f"aligned from {len(names)} landmarks (scale {alignment.scale:.4g})")
    else:
        alignment, misfit = automatic_alignment(
            template.vertices, fit_faces, surface, progress=scaled_progress(progress, 0.0, 0.3)
        )
        notes.append(f"automatic alignment, relative RMS {misfit:.3f} (scale {alignment.scale:.4g})")
        if misfit > MAX_AUTO_MISFIT:
            reasons.append(f"the scan does not look like a {template.kind} (automatic alignment misfit {misfit:.3f})")
    rest = alignment.apply(template.vertices)
    start = 0.05 if scan_landmarks else 0.3
    phenotype: dict[str, float] | None = None
    if template.shape_model is not None and fit_shape:
        shape_fit = _fit_shape(template, fit_mask, surface, alignment, term, device, progress, start)
        rest, alignment, phenotype = shape_fit.vertices, shape_fit.alignment, shape_fit.phenotype
        notes.append(
            f"phenotype fit: trimmed RMS distance {shape_fit.rms_before:.4g} -> {shape_fit.rms_after:.4g}; "
            + ", ".join(f"{k} {v:.2f}" for k, v in phenotype.items())
        )
        start += 0.25
    fitted = refine_nonrigid(
        rest,
        template.faces,
        fit_mask,
        surface,
        landmarks=term,
        settings=settings,
        device=device,
        progress=scaled_progress(progress, start, 0.95),
    )
    if (template.rigid & fit_mask).any():
        fitted = make_rigid(rest, fitted, template.faces, template.rigid & fit_mask)
    fitted = follow_neighbours(rest, fitted, template.faces, ~fit_mask, fit_mask)
    bend = float(np.linalg.norm(fitted[fit_mask] - rest[fit_mask], axis=1).mean()) / (alignment.scale * size)
    notes.append(f"mean non-rigid displacement {bend:.3f} of the template's radius")
    if bend > MAX_MEAN_BEND:
        reasons.append(f"the template had to be bent far to fit (mean displacement {bend:.3f} of its radius)")
    progress(0.97, "residual report")
    report = _report(fitted, rest, template, surface, fit_mask, scan_landmarks, alignment.scale * size, notes)
    report.reasons[:0] = reasons
    report.confidence = "low" if report.reasons else "high"
    distance = np.full(len(fitted), np.nan, np.float32)
    distance[fit_mask] = surface.closest(fitted[fit_mask]).distances
    progress(1.0, f"wrapped: mean distance {report.mean_distance:.3g}, confidence {report.confidence}")
    return WrapResult(fitted.astype(np.float32), template, distance, alignment, report, phenotype)


def _fit_shape(
    template: Template,
    fit_mask: NDArray[np.bool_],
    surface: ScanSurface,
    alignment: Similarity,
    term: LandmarkTerm | None,
    device: str,
    progress: ProgressFn,
    start: float,
) -> PhenotypeFit:
    from lifecast.wrap.phenotype import fit_phenotype

    model = template.shape_model
    assert model is not None
    if model.vertex_count != len(template.vertices):
        raise InputError(
            f"the template's shape model has {model.vertex_count:,} vertices, its mesh {len(template.vertices):,}"
        )
    return fit_phenotype(
        model,
        template.faces,
        fit_mask,
        surface,
        alignment,
        landmarks=term,
        device=device,
        progress=scaled_progress(progress, start, start + 0.25),
    )


def _check_scan(scan: TriMesh, fitted_vertices: int) -> None:
    if scan.is_point_cloud:
        raise InputError("the scan is a point cloud: mesh it first (lifecast process meshes point clouds)")
    if len(scan.vertices) < MIN_SCAN_DENSITY * fitted_vertices:
        raise InputError(
            f"the scan has {len(scan.vertices):,} vertices, far fewer than the template's {fitted_vertices:,} "
            "fitted vertices: a wrap would only invent detail"
        )


def _size(points: NDArray[np.float64]) -> float:
    """RMS radius of ``points`` about their centroid."""
    return float(np.sqrt(np.mean(np.sum((points - points.mean(0)) ** 2, 1))))


def _report(
    fitted: NDArray[np.float64],
    rest: NDArray[np.float64],
    template: Template,
    surface: ScanSurface,
    fit_mask: NDArray[np.bool_],
    scan_landmarks: dict[str, NDArray[np.float64]] | None,
    size: float,
    notes: list[str],
) -> WrapReport:
    matches = surface.closest(fitted[fit_mask])
    residuals: dict[str, float] = {}
    if scan_landmarks:
        names = sorted(scan_landmarks)
        got = template.landmark_positions(names, fitted)
        for name, point in zip(names, got, strict=True):
            residuals[name] = float(np.linalg.norm(point - scan_landmarks[name]))
    flipped, degenerate = broken_faces(rest, fitted, template.faces)
    return build_report(matches, size, residuals, flipped, degenerate, notes)
