"""Level-of-detail chains: one decimated mesh per target triangle count."""

from __future__ import annotations

from collections.abc import Sequence

from lifecast.geometry.decimate import decimate_mesh
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Triangle counts of the default chain (hero, mid, far).
DEFAULT_LOD_TARGETS: tuple[int, ...] = (100_000, 25_000, 5_000)


def build_lods(
    mesh: TriMesh,
    targets: Sequence[int] = DEFAULT_LOD_TARGETS,
    *,
    preserve_border: bool = True,
    progress: ProgressFn = no_progress,
) -> list[TriMesh]:
    """Decimate ``mesh`` to each of ``targets`` triangles.

    Each level is decimated from the previous (larger) level, which is
    faster than starting from the full mesh every time and gives nested
    levels. A level whose target is at or above the current count is the
    mesh itself, never upsampled. Open boundaries are kept exactly; vertex
    colours, normals and indexed UVs are carried (see
    :mod:`lifecast.geometry.decimate`).

    Parameters
    ----------
    mesh
        The full-resolution mesh.
    targets
        Wanted triangle counts, in any order; the result follows this order.
    preserve_border
        Never move or collapse open-boundary vertices (always on for UV'd meshes).
    progress
        Called with a fraction in [0, 1] and a message per level.

    Returns
    -------
    list of TriMesh
        One mesh per entry of ``targets``.
    """
    if any(int(t) < 1 for t in targets):
        raise ValueError(f"LOD targets must be positive triangle counts, got {list(targets)}")
    order = sorted(range(len(targets)), key=lambda i: -int(targets[i]))
    levels: list[TriMesh | None] = [None] * len(targets)
    current = mesh
    for done, i in enumerate(order):
        progress(done / max(len(order), 1), f"LOD {targets[i]:,} triangles")
        current = decimate_mesh(current, int(targets[i]), preserve_border=preserve_border)
        levels[i] = current
    progress(1.0, "LODs done")
    return [level for level in levels if level is not None]
