"""``read_scan``: open any supported scan file, check it, and settle its units and up axis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.checks import check_mesh
from lifecast.io.gltf import read_gltf
from lifecast.io.images import read_image
from lifecast.io.obj import read_obj
from lifecast.io.parsed import ParsedFile
from lifecast.io.pcd import read_pcd
from lifecast.io.ply import read_ply
from lifecast.io.sniff import sniff_format
from lifecast.io.units import bounding_box_extent, guess_units, plausibility_note, size_problem
from lifecast.mesh import Scan, Units, UpAxis
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Reader of each supported suffix, and the sniffed formats its contents may have.
_READERS: dict[str, tuple[Callable[[Path], ParsedFile], tuple[str, ...]]] = {
    ".ply": (read_ply, ("ply",)),
    ".obj": (read_obj, ("text",)),
    ".glb": (read_gltf, ("glb",)),
    ".gltf": (read_gltf, ("gltf",)),
    ".pcd": (read_pcd, ("pcd", "text", "binary data")),
}

#: File name suffixes :func:`read_scan` reads (lower case, with the dot).
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_READERS)

#: A setting a scan file may declare: its units or its up axis.
_Setting = TypeVar("_Setting", bound=str)

_FORMAT_NAMES = {"ply": "a PLY file", "glb": "a binary glTF (GLB)", "gltf": "a glTF JSON file", "pcd": "a PCD file"}


def read_scan(
    path: str | Path,
    *,
    texture: str | Path | None = None,
    units: Units | None = None,
    up: UpAxis | None = None,
    progress: ProgressFn = no_progress,
) -> Scan:
    """Read a scan (mesh or point cloud) in its own units and up axis.

    Parameters
    ----------
    path
        A ``.ply``, ``.obj``, ``.glb``, ``.gltf`` or ``.pcd`` file.
    texture
        A colour texture that overrides (or supplies) the one the file names;
        the mesh must have UVs.
    units, up
        Override what the file declares or what would be guessed.
    progress
        Called with a fraction in [0, 1] and a message.

    Returns
    -------
    Scan
        ``mesh`` exactly as stored (point clouds have ``(0, 3)`` faces), the
        settled ``units`` and ``up``, and ``notes`` saying what was assumed.

    Raises
    ------
    InputError
        For anything wrong with the files: missing, empty, wrong or unsupported
        format, corrupt or truncated data, no finite vertices, indices out of
        range, an absurd size, a missing or unreadable texture.
    """
    p = Path(path)
    reader = _reader_for(p)
    progress(0.0, f"reading {p.name}")
    parsed = reader(p)
    progress(0.7, "checking the mesh")
    notes = list(parsed.notes)
    notes += check_mesh(parsed.mesh, p)
    mesh = parsed.mesh
    texture_file = Path(texture) if texture is not None else parsed.texture_path
    if texture_file is not None:
        if not mesh.has_uvs:
            if texture is not None:
                raise InputError(f"a texture ({texture_file.name}) was given but the mesh has no UVs to map it", p)
            notes.append(f"the file names the texture {texture_file.name} but has no UVs; the texture was not read")
        else:
            progress(0.8, f"reading texture {texture_file.name}")
            mesh = mesh.with_(texture=_read_texture(texture_file, explicit=texture is not None, scan=p))
            notes.append(f"texture: {texture_file}")
    scan_units, up_axis = _settle_units_and_up(parsed, mesh.vertices, units, up, p, notes)
    progress(1.0, "read")
    return Scan(mesh=mesh, source=str(p), units=scan_units, up=up_axis, notes=tuple(notes))


def _reader_for(path: Path) -> Callable[[Path], ParsedFile]:
    """The reader for ``path``, after checking that the file exists and its contents match its suffix."""
    if not path.exists():
        raise InputError("the scan file does not exist", path)
    if not path.is_file():
        raise InputError("expected a scan file but found a directory", path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        known = ", ".join(SUPPORTED_SUFFIXES)
        raise InputError(f"unsupported scan format {suffix or '(no suffix)'!r}: lifecast reads {known}", path)
    if path.stat().st_size == 0:
        raise InputError("the scan file is empty", path)
    reader, expected = _READERS[suffix]
    found = sniff_format(path)
    if found not in expected:
        what = _FORMAT_NAMES.get(found, "text" if found == "text" else found)
        raise InputError(f"the file is named {suffix} but its contents look like {what}", path)
    return reader


def _read_texture(texture: Path, *, explicit: bool, scan: Path) -> NDArray[np.uint8]:
    """Read the texture, turning a missing file into an error that says where it was named."""
    if not texture.exists():
        where = "was given" if explicit else f"is named by {scan.name}'s material"
        hint = "" if explicit else " (pass the texture explicitly to use another file)"
        raise InputError(f"the texture {texture.name} {where} but does not exist{hint}", texture)
    try:
        return read_image(texture)
    except InputError as exc:
        if explicit:
            raise
        raise InputError(f"{exc.message} (the texture named by {scan.name}'s material)", texture) from None


def _settle_units_and_up(
    parsed: ParsedFile,
    vertices: NDArray[np.float32],
    units: Units | None,
    up: UpAxis | None,
    path: Path,
    notes: list[str],
) -> tuple[Units, UpAxis]:
    """Units and up axis: explicit arguments, else the file's declaration, else a guess (noted)."""
    extent = bounding_box_extent(vertices)
    chosen: Units | None = _given_or_declared("units", units, parsed.units, notes, parsed.units_basis)
    if chosen is None:
        chosen = guess_units(extent)
        notes.append(
            f"units: {chosen} (guessed: the scan is {extent:.4g} units across and is assumed to be a person; "
            "pass units= or add a 'comment units mm' line to a PLY header to declare them)"
        )
    problem = size_problem(extent, chosen)
    if problem is not None:
        raise InputError(f"{problem}: check the units or the file", path)
    if warning := plausibility_note(extent, chosen):
        notes.append(warning)
    axis: UpAxis | None = _given_or_declared("up axis", up, parsed.up, notes)
    if axis is None:
        axis = "y"
        notes.append("up axis: y (assumed; pass up= or add a 'comment up z' line to a PLY header if Z is up)")
    return chosen, axis


def _given_or_declared(
    label: str,
    given: _Setting | None,
    declared: _Setting | None,
    notes: list[str],
    basis: str = "declared by the file",
) -> _Setting | None:
    """The argument if given, else the file's declaration, noted with where it came from; ``None`` if neither."""
    if given is not None:
        notes.append(f"{label}: {given} (given)")
        return given
    if declared is not None:
        notes.append(f"{label}: {declared} ({basis})")
    return declared
