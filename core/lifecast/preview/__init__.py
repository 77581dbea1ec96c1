"""Preview images the worker renders for the DCC panels: a numpy z-buffer, no GL."""

from __future__ import annotations

from pathlib import Path

from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.preview.sources import PreviewMesh, load_preview_mesh
from lifecast.preview.zbuffer import look_rotation, render_mesh

__all__ = ["PreviewMesh", "load_preview_mesh", "look_rotation", "render_mesh", "render_preview"]


def render_preview(
    source: Path,
    out_png: Path,
    *,
    size: int = 512,
    yaw: float = 25.0,
    pitch: float = 10.0,
    progress: ProgressFn = no_progress,
) -> dict[str, int]:
    """Render ``source`` (a scan or a USD asset) to ``out_png``, written atomically.

    Returns a small summary: ``{"vertices": n, "faces": m, "size": size}``.
    """
    from PIL import Image

    from lifecast.errors import InputError
    from lifecast.pipeline.atomic import atomic_path

    if not 16 <= size <= 4096:
        raise InputError(f"preview size must be between 16 and 4096 pixels, got {size}")
    mesh = load_preview_mesh(source)
    progress(0.1, f"rendering {len(mesh.faces):,} triangles")

    def raster_progress(fraction: float, message: str = "") -> None:
        progress(0.1 + 0.85 * fraction, message)

    image = render_mesh(
        mesh.vertices,
        mesh.faces,
        colors=mesh.colors,
        size=size,
        rotation=look_rotation(yaw, pitch),
        progress=raster_progress,
    )
    with atomic_path(out_png) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    progress(1.0, "written")
    return {"vertices": len(mesh.vertices), "faces": len(mesh.faces), "size": size}
