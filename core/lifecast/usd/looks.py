"""The looks lifecast hands off: where ``shaders/`` is, and reading one of its MaterialX documents.

``shaders/`` sits at the repository root, laid out like MaterialX's
``resources/Materials/Examples`` (one folder per shading model,
``<model>_<look>.mtlx``). This editable install finds it beside the package
(``Path(lifecast.__file__).resolve().parents[2] / "shaders"``);
``$LIFECAST_SHADERS`` points at another copy. A wheel would have to ship the
folder as package data (it does not today).

Each ``--look`` names one document:

- ``openpbr``: ``OpenPbr/open_pbr_skin.mtlx`` (the default);
- ``standard_surface``: ``StandardSurface/standard_surface_skin.mtlx``;
- ``preview``: ``UsdPreviewSurface/usd_preview_surface_skin.mtlx``, the
  UsdPreviewSurface fallback written out in MaterialX terms. The asset's
  preview network is authored by :mod:`lifecast.usd.material`, so this look
  authors no MaterialX prims.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import MaterialX

import lifecast
from lifecast.errors import InputError

__all__ = [
    "DEFAULT_LOOK",
    "LOOK_DOCUMENTS",
    "LOOK_NAMES",
    "MATERIALX_LOOKS",
    "SHADERS_ENV",
    "check_look",
    "load_look_document",
    "look_document_path",
    "shaders_dir",
    "standard_libraries",
]

#: Environment variable naming another ``shaders/`` folder.
SHADERS_ENV = "LIFECAST_SHADERS"
#: ``--look`` value -> its document, relative to ``shaders/``.
LOOK_DOCUMENTS = {
    "openpbr": "OpenPbr/open_pbr_skin.mtlx",
    "standard_surface": "StandardSurface/standard_surface_skin.mtlx",
    "preview": "UsdPreviewSurface/usd_preview_surface_skin.mtlx",
}
LOOK_NAMES = tuple(LOOK_DOCUMENTS)
DEFAULT_LOOK = "openpbr"
#: The looks authored into the asset as a MaterialX network (beside the preview fallback, which every look has).
MATERIALX_LOOKS = ("openpbr", "standard_surface")


def shaders_dir() -> Path:
    """The ``shaders/`` folder: ``$LIFECAST_SHADERS``, else the one at the root of this checkout.

    Raises
    ------
    InputError
        The folder does not exist.
    """
    override = os.environ.get(SHADERS_ENV)
    folder = Path(override) if override else Path(lifecast.__file__).resolve().parents[2] / "shaders"
    if not folder.is_dir():
        where = f"${SHADERS_ENV}" if override else "beside the lifecast package (a source checkout)"
        raise InputError(f"the shaders folder is missing ({where}); set {SHADERS_ENV} to a copy", folder)
    return folder


def check_look(name: str) -> str:
    """``name`` if it is a look (:data:`LOOK_NAMES`), else :class:`InputError`."""
    if name not in LOOK_DOCUMENTS:
        raise InputError(f"unknown look {name!r}: choose from {', '.join(LOOK_NAMES)}")
    return name


def look_document_path(name: str) -> Path:
    """The ``.mtlx`` file of look ``name`` (checked to exist)."""
    path = shaders_dir() / LOOK_DOCUMENTS[check_look(name)]
    if not path.is_file():
        raise InputError(f"the {name} look's MaterialX document is missing", path)
    return path


@lru_cache(maxsize=1)
def standard_libraries() -> MaterialX.Document:
    """MaterialX's standard data libraries (stdlib, pbrlib, bxdf, cmlib...), loaded once per process."""
    libraries = MaterialX.createDocument()
    MaterialX.loadLibraries(MaterialX.getDefaultDataLibraryFolders(), MaterialX.getDefaultDataSearchPath(), libraries)
    return libraries


def load_look_document(name: str) -> MaterialX.Document:
    """Read look ``name``'s document over the standard libraries and validate it.

    Raises
    ------
    InputError
        Unknown look, a missing file, a document that does not parse or does
        not validate (MaterialX's message, on one line), or one without
        exactly one material node.
    """
    path = look_document_path(name)
    document = MaterialX.createDocument()
    try:
        MaterialX.readFromXmlFile(document, str(path))
    except MaterialX.ExceptionParseError as exc:
        raise InputError(f"not a MaterialX document: {exc}", path) from None
    document.setDataLibrary(standard_libraries())
    valid, message = document.validate()
    if not valid:
        first = " ".join(message.split())
        raise InputError(f"MaterialX document does not validate: {first}", path)
    materials = document.getMaterialNodes()
    if len(materials) != 1:
        raise InputError(f"a look document needs exactly one material node, found {len(materials)}", path)
    return document
