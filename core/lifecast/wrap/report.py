"""How well a wrap fits: distances to the scan, landmark residuals, broken faces, confidence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import face_area_vectors
from lifecast.wrap.correspond import Matches

#: Below this share of fitted vertices matched to the scan, a wrap is of low confidence.
MIN_COVERAGE = 0.6
#: Above this mean distance (fraction of the template's size) a wrap is of low confidence.
MAX_MEAN_DISTANCE = 0.01
#: Above this share of flipped faces a wrap is of low confidence (they are always counted).
MAX_FLIPPED_SHARE = 0.002


@dataclass
class WrapReport:
    """The residual report of a wrap (lengths in scan units).

    Attributes
    ----------
    mean_distance, p95_distance, max_distance
        Distance from the fitted vertices that lie over the scan to the scan surface.
    coverage
        Share of fitted vertices over the scan (not over a hole or off its edge).
    landmark_residuals
        Distance of each wrapped template landmark to its scan landmark.
    flipped_faces
        Triangles whose normal turned more than 90 degrees from the aligned template's.
    degenerate_faces
        Triangles with (almost) zero area.
    confidence
        ``"high"`` or ``"low"``; ``reasons`` says why it is low.
    """

    mean_distance: float
    p95_distance: float
    max_distance: float
    coverage: float
    landmark_residuals: dict[str, float]
    flipped_faces: int
    degenerate_faces: int
    confidence: str
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "mean_distance": round(self.mean_distance, 6),
            "p95_distance": round(self.p95_distance, 6),
            "max_distance": round(self.max_distance, 6),
            "coverage": round(self.coverage, 4),
            "landmark_residuals": {k: round(v, 6) for k, v in self.landmark_residuals.items()},
            "landmark_mean_residual": round(float(np.mean(list(self.landmark_residuals.values()))), 6)
            if self.landmark_residuals
            else None,
            "flipped_faces": self.flipped_faces,
            "degenerate_faces": self.degenerate_faces,
            "confidence": self.confidence,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
        }


def broken_faces(
    rest: NDArray[np.floating], wrapped: NDArray[np.floating], faces: NDArray[np.integer]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``(flipped, degenerate)`` ``(m,) bool`` masks of ``wrapped`` against the aligned ``rest`` template.

    A rest face that is itself degenerate is never counted.
    """
    n0 = face_area_vectors(rest, faces)
    n1 = face_area_vectors(wrapped, faces)
    a0 = np.linalg.norm(n0, axis=1)
    a1 = np.linalg.norm(n1, axis=1)
    valid = a0 > 1e-12 * max(float(np.median(a0)), 1e-30)
    degenerate = valid & (a1 < 1e-6 * a0)
    flipped = valid & ~degenerate & (np.einsum("md,md->m", n0, n1) < 0)
    return flipped, degenerate


def build_report(
    matches: Matches,
    template_size: float,
    landmark_residuals: dict[str, float],
    flipped: NDArray[np.bool_],
    degenerate: NDArray[np.bool_],
    notes: list[str],
) -> WrapReport:
    """Summarise a finished wrap; ``matches`` are the fitted vertices' closest scan points."""
    over = ~matches.on_boundary
    d = matches.distances[over] if over.any() else matches.distances
    coverage = float(over.mean()) if len(over) else 0.0
    mean = float(d.mean()) if len(d) else float("inf")
    reasons: list[str] = []
    if coverage < MIN_COVERAGE:
        reasons.append(f"only {coverage:.0%} of the template lies over the scan")
    if mean > MAX_MEAN_DISTANCE * template_size:
        reasons.append(f"mean distance {mean:.3g} is over {MAX_MEAN_DISTANCE:.0%} of the template's size")
    if flipped.sum() > MAX_FLIPPED_SHARE * len(flipped):
        reasons.append(f"{int(flipped.sum())} flipped faces")
    return WrapReport(
        mean_distance=mean,
        p95_distance=float(np.percentile(d, 95)) if len(d) else float("inf"),
        max_distance=float(d.max()) if len(d) else float("inf"),
        coverage=coverage,
        landmark_residuals=landmark_residuals,
        flipped_faces=int(flipped.sum()),
        degenerate_faces=int(degenerate.sum()),
        confidence="low" if reasons else "high",
        reasons=reasons,
        notes=notes,
    )
