"""Batch manifests: many scans, shared defaults, per-scan overrides.

A manifest is TOML (read with the standard library) or YAML (needs PyYAML)::

    [defaults]                      # any option of `lifecast process`, for every scan
    lods = [100000, 25000, 5000]
    texture_size = 4096

    [subjects]                      # optional: when present, every scan's subject must be listed
    anny = { note = "sample body model" }

    [[scans]]
    scan = "scans/anny_head.ply"    # relative to the manifest's folder
    out = "anny_head"               # folder under the output root (default: the scan's file stem)
    subject = "anny"
    texture_size = 2048             # a per-scan override

    [adapt]                         # optional: after every scan, train each subject's adapter (lifecast ml adapt)
    subjects = ["anny"]             # default: every subject of the batch's scans
    show = "/studio/shows/demo"     # the show folder the farm sees (default: $LIFECAST_SHOW when bundling)

``adapt = true`` is ``[adapt]`` with both defaults.
Option keys are the long options of ``lifecast process`` with ``_`` for ``-``:
``texture``, ``subject``, ``name``, ``units``, ``up``, ``asset_units``,
``lods``, ``texture_size``, ``udims``, ``keep_uvs``, ``keep_ground``,
``fill_holes``, ``no_delight``, ``no_inpaint``, ``albedo_colorspace`` (``srgb`` or ``acescg``), ``look``
(``openpbr``, ``standard_surface`` or ``preview``), and for a
template wrap ``template`` (a built-in name or a path), ``template_landmarks``
and ``landmarks`` (paths), for photo texturing ``photos``, ``cameras`` and
``photo_masks`` (paths). Every mistake is an
:class:`~lifecast.errors.InputError` naming the manifest (exit code 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecast.errors import InputError, MissingDependencyError
from lifecast.wrap.builtin import BUILT_IN

#: Option key -> the Python type its value must have.
OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "texture": str,
    "subject": str,
    "name": str,
    "units": str,
    "up": str,
    "asset_units": str,
    "lods": list,
    "texture_size": int,
    "udims": int,
    "keep_uvs": bool,
    "keep_ground": bool,
    "no_delight": bool,
    "no_inpaint": bool,
    "fill_holes": (int, float),
    "template": str,
    "template_landmarks": str,
    "landmarks": str,
    "albedo_colorspace": str,
    "look": str,
    "photos": str,
    "cameras": str,
    "photo_masks": str,
}
#: Option keys holding a path, resolved against the manifest's folder (``template`` unless a built-in name).
_PATH_OPTIONS = ("texture", "template_landmarks", "landmarks", "template", "photos", "cameras", "photo_masks")
_CHOICES = {
    "units": ("mm", "cm", "m"),
    "asset_units": ("mm", "cm", "m"),
    "up": ("y", "z"),
    "albedo_colorspace": ("srgb", "acescg"),
    # lifecast.usd.looks.LOOK_NAMES, spelled out so reading a manifest does not import USD (a test keeps them equal).
    "look": ("openpbr", "standard_surface", "preview"),
}
_SAFE_OUT = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ScanTask:
    """One scan of a batch with its options resolved (defaults, then its own overrides).

    Attributes
    ----------
    scan
        Absolute path of the scan file.
    out
        Name of its output folder under the batch's output root.
    options
        Option key -> value (see :data:`OPTION_TYPES`); paths absolute.
    """

    scan: Path
    out: str
    options: dict[str, Any] = field(default_factory=dict)

    def process_args(self) -> list[str]:
        """The options as ``lifecast process`` arguments (without the scan, ``-o`` or ``--cache``)."""
        args: list[str] = []
        for key in sorted(self.options):
            value = self.options[key]
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                if value:
                    args.append(flag)
            elif isinstance(value, list):
                args += [flag, ",".join(str(int(v)) for v in value)]
            else:
                args += [flag, str(value)]
        return args

    @property
    def lods(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.options.get("lods", (100_000, 25_000, 5_000)))

    @property
    def texture_size(self) -> int:
        return int(self.options.get("texture_size", 4096))

    def to_json(self) -> dict[str, Any]:
        return {"scan": str(self.scan), "out": self.out, "options": self.options, "args": self.process_args()}


@dataclass(frozen=True)
class AdaptSpec:
    """The manifest's ``[adapt]``: train these subjects' adapters once every scan of the batch is done.

    ``show`` is the show folder as given (absolute, or relative to the manifest's folder), ``None`` for
    ``$LIFECAST_SHOW`` at bundle time (:meth:`show_dir`).
    """

    subjects: tuple[str, ...]
    show: Path | None = None

    def show_dir(self, origin: Path | None = None) -> Path:
        """The show folder the adapt step passes to ``--show``; :class:`InputError` when there is none."""
        import os

        if self.show is not None:
            return self.show
        env = os.environ.get("LIFECAST_SHOW", "").strip()
        if not env:
            raise InputError("the adapt step needs a show: set show under [adapt] or $LIFECAST_SHOW", origin)
        return Path(env).expanduser().resolve()


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: where it is, its scans in file order, and its adapt step (``None``: no adapt step)."""

    path: Path
    scans: list[ScanTask]
    subjects: dict[str, Any] = field(default_factory=dict)
    adapt: AdaptSpec | None = None


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a TOML (``.toml``) or YAML (``.yaml``/``.yml``) manifest.

    Raises
    ------
    InputError
        The file is missing, does not parse, or holds an unknown key, a value
        of the wrong type, a duplicate output folder or an unlisted subject.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("manifest not found", path)
    data = _parse(path)
    return manifest_from_dict(data, path)


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start} cannot be decoded)", path) from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML: {' '.join(str(exc).split())}", path) from None
        except RecursionError:
            raise InputError("not a manifest: the TOML is nested too deeply", path) from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise MissingDependencyError("PyYAML", "reading a YAML manifest", extra="farm") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {' '.join(str(exc).split())}", path) from None
        except RecursionError:
            raise InputError("not a manifest: the YAML is nested too deeply", path) from None
        if not isinstance(data, dict):
            raise InputError("a manifest must be a mapping with a 'scans' list", path)
        return data
    raise InputError("manifest must be .toml, .yaml or .yml", path)


def manifest_from_dict(data: Mapping[str, Any], path: Path) -> Manifest:
    """Validate parsed manifest data; relative paths are taken from ``path``'s folder."""
    unknown = set(data) - {"defaults", "subjects", "scans", "adapt"}
    if unknown:
        raise InputError(f"unknown top-level keys {sorted(unknown)} (expected defaults, subjects, scans, adapt)", path)
    defaults = _check_options(data.get("defaults", {}), path, "defaults")
    subjects = data.get("subjects", {})
    if not isinstance(subjects, dict):
        raise InputError("'subjects' must be a table of subject ids", path)
    entries = data.get("scans")
    if not isinstance(entries, list) or not entries:
        raise InputError("the manifest lists no scans (a non-empty 'scans' list is needed)", path)
    base = path.resolve().parent
    scans: list[ScanTask] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"scans[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("scan"), str):
            raise InputError(f"{where} needs a 'scan' path", path)
        if "\x00" in entry["scan"]:
            raise InputError(f"{where}: the scan path holds a NUL character", path)
        own = {k: v for k, v in entry.items() if k not in ("scan", "out")}
        options = {**defaults, **_check_options(own, path, where)}
        for key in _PATH_OPTIONS:
            if key in options and not (key == "template" and options[key] in BUILT_IN):
                options[key] = str((base / options[key]).resolve())
        scan = (base / entry["scan"]).resolve()
        out = entry.get("out", scan.stem)
        if not isinstance(out, str) or not _SAFE_OUT.match(out) or out in (".", ".."):
            raise InputError(f"{where}: output folder name {out!r} must be letters, digits, '_', '-' or '.'", path)
        if out in seen:
            raise InputError(f"{where}: output folder {out!r} is used by scans[{seen[out]}] too", path)
        seen[out] = i
        subject = options.get("subject")
        if subjects and subject is not None and subject not in subjects:
            raise InputError(f"{where}: subject {subject!r} is not listed under [subjects]", path)
        scans.append(ScanTask(scan=scan, out=out, options=options))
    adapt = _check_adapt(data.get("adapt", False), scans, path, base)
    return Manifest(path=path.resolve(), scans=scans, subjects=dict(subjects), adapt=adapt)


def _check_adapt(raw: object, scans: list[ScanTask], path: Path, base: Path) -> AdaptSpec | None:
    """``adapt = true | false`` or an ``[adapt]`` table (``subjects``, ``show``) as an :class:`AdaptSpec`."""
    from lifecast.consent.show import check_subject_id

    if raw is False:
        return None
    table: dict[str, Any] = {} if raw is True else raw if isinstance(raw, dict) else {"adapt": raw}
    if set(table) - {"subjects", "show"}:
        raise InputError("adapt must be true, false or a table with 'subjects' and 'show'", path)
    batch = list(dict.fromkeys(str(t.options["subject"]) for t in scans if "subject" in t.options))
    subjects = table.get("subjects", batch)
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        raise InputError(f"adapt: subjects must be a list of subject ids, got {subjects!r}", path)
    if not subjects:
        raise InputError("adapt: no subject to adapt (no scan names a subject and [adapt] lists none)", path)
    for subject in subjects:
        try:
            check_subject_id(subject)
        except InputError as exc:
            raise InputError(f"adapt: {exc.message}", path) from None
        if subject not in batch:
            raise InputError(f"adapt: subject {subject!r} has no scan in this batch", path)
    show = table.get("show")
    if show is not None and (not isinstance(show, str) or not show.strip() or "\x00" in show):
        raise InputError(f"adapt: show must be a folder path, got {show!r}", path)
    return AdaptSpec(tuple(dict.fromkeys(subjects)), (base / show).resolve() if show else None)


def _check_options(raw: object, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a table of options", path)
    out: dict[str, Any] = {}
    for key, raw_value in raw.items():
        value: Any = raw_value
        if key not in OPTION_TYPES:
            raise InputError(f"{where}: unknown option {key!r} (one of {', '.join(sorted(OPTION_TYPES))})", path)
        expected = OPTION_TYPES[key]
        # bool is an int in Python: only accept it where a bool is wanted.
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise InputError(f"{where}: {key} = {value!r} has the wrong type", path)
        if isinstance(value, str) and "\x00" in value:
            raise InputError(f"{where}: {key} holds a NUL character", path)
        if key in _CHOICES and value not in _CHOICES[key]:
            raise InputError(f"{where}: {key} must be one of {', '.join(_CHOICES[key])}, got {value!r}", path)
        if key == "lods" and not _is_count_list(raw_value):
            raise InputError(f"{where}: lods must be a list of triangle counts, got {value!r}", path)
        out[key] = list(value) if isinstance(value, list) else value
    return out


def _is_count_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(type(v) is int for v in value)
