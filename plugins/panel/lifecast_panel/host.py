"""What the panel needs from the application it runs in: a small ``Host`` ABC and opt-in capabilities.

As in AYON's host addons, the base class is what every host must give, and each
capability is a separate interface a host implements only when the DCC can do it;
the panel asks ``isinstance(host, UsdImporter)`` before offering the action.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Host",
    "MessageLevel",
    "PaintedImageSource",
    "PointSelection",
    "SelectedPoints",
    "UsdImporter",
    "capabilities_of",
]

MessageLevel = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class SelectedPoints:
    """Points an artist selected on a mesh, in the mesh's own coordinates.

    ``mesh`` names the object; ``indices`` are its point (vertex) numbers and
    ``positions`` their positions in the mesh's object space (Maya), SOP space
    (Houdini) or local coordinates (Blender), never world space: ``(k,)`` and
    ``(k, 3)``. For a scan imported unchanged these are the scan file's vertex
    coordinates, whatever transform places the object in the scene, which is what the
    core reads for points. ``mesh_vertex_count`` is how many points the whole mesh has
    (``None`` when the host cannot tell), so the panel can warn when the mesh in the
    scene is not the scan as lifecast reads it and vertex numbers would not match.
    """

    mesh: str
    indices: tuple[int, ...]
    positions: tuple[tuple[float, float, float], ...]
    mesh_vertex_count: int | None = None


class Host(abc.ABC):
    """The application the panel is docked in (Maya, Houdini, Blender) or the standalone window."""

    #: Short name shown in the panel and used for per-host settings.
    name: str = "host"

    @abc.abstractmethod
    def main_window(self) -> Any:
        """The QWidget to parent the panel to, or ``None`` for a top-level window."""

    @abc.abstractmethod
    def report(self, message: str, level: MessageLevel = "info") -> None:
        """Show a message where the DCC shows its own (status line, console)."""


class UsdImporter(abc.ABC):
    """A host that can bring a USD asset into its scene."""

    @abc.abstractmethod
    def import_usd(self, path: Path) -> str:
        """Import or reference the asset; return the name of what was created in the scene.

        Raises
        ------
        FileNotFoundError
            When ``path`` is not a file (checked before the scene is touched).
        """


class PointSelection(abc.ABC):
    """A host that can tell which points of a mesh are selected (for landmarks)."""

    @abc.abstractmethod
    def selected_points(self) -> SelectedPoints | None:
        """The selected points of one mesh, or ``None`` when nothing usable is selected."""


class PaintedImageSource(abc.ABC):
    """A host where an artist can paint corrections over a texture."""

    @abc.abstractmethod
    def painted_image(self) -> Path | None:
        """The image the artist painted, saved to a file, or ``None``."""


def capabilities_of(host: Host) -> set[str]:
    """Names of the capability interfaces ``host`` implements (for the UI and the contract tests)."""
    found: set[str] = set()
    for cap in (UsdImporter, PointSelection, PaintedImageSource):
        if isinstance(host, cap):
            found.add(cap.__name__)
    return found
