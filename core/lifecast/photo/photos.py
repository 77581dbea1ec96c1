"""Finding, reading and checking each camera's photo and mask, one photo at a time.

A photo is looked up in the images folder by the camera's name as the rig gives it (a relative path),
then by its file name alone, then by its stem with any image extension (rigs often drop or change the
extension or the folder). A photo that is missing, cannot be decoded, or whose size is not the
camera's is skipped with the reason, so one bad file among many costs one view, not the run. A photo
that is the camera's image uniformly resized (a half-size proxy of a 50 MP capture) is accepted: the
camera is scaled to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.cameras.model import Camera

#: File extensions tried when a photo or mask is looked up by its stem.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".exr", ".webp")

#: Where photos come from: a folder, or a function giving each camera's ``(h, w, 3)`` sRGB image.
ImageSource = Path | Callable[[Camera], NDArray[np.generic]]


class UnusablePhotoError(Exception):
    """This photo cannot be used; the message says why (it goes into the per-photo report)."""


@dataclass(frozen=True)
class Photo:
    """One photo, ready to sample.

    Attributes
    ----------
    camera
        The camera, scaled to the image when the image was a uniformly resized copy.
    image
        ``(h, w, 3)`` the pixels as read (sRGB-encoded).
    mask
        ``(h, w) bool`` usable pixels, or ``None``.
    notes
        What was assumed on the way.
    reduction
        How many times smaller than the camera's image ``image`` is on each side (1, or the ``reduce`` asked of
        :func:`load_photo`): pixel ``(x, y)`` of the camera lies at ``(x, y) / reduction`` in it.
    """

    camera: Camera
    image: NDArray[np.generic]
    mask: NDArray[np.bool_] | None
    notes: tuple[str, ...]
    reduction: int = 1


def find_file(folder: Path, name: str) -> Path | None:
    """The file in ``folder`` the rig's ``name`` refers to, or ``None`` (see the module docstring)."""
    name = name.replace("\\", "/")
    direct = folder / name
    if direct.is_file():
        return direct
    base = name.rsplit("/", 1)[-1]
    if (folder / base).is_file():
        return folder / base
    stem = base.rsplit(".", 1)[0] if "." in base else base
    for ext in IMAGE_EXTENSIONS:
        for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def load_photo(source: ImageSource, camera: Camera, masks: Path | None = None, *, reduce: int = 1) -> Photo:
    """Read and check one camera's photo (and mask).

    Parameters
    ----------
    source
        The images folder, or a function returning a camera's image.
    camera
        The camera.
    masks
        Folder of masks named like the photos (white: usable), or ``None``.
    reduce
        2, 4 or 8: a JPEG file is decoded this many times smaller on each side (libjpeg's scaled decoding,
        several times faster than the full image; each pixel the mean of a ``reduce x reduce`` block); other
        sources are read at full size (``Photo.reduction`` says which). The camera and mask stay full size.

    Returns
    -------
    Photo

    Raises
    ------
    UnusablePhotoError
        The photo is missing, unreadable, or its size does not match the camera.
    """
    notes: list[str] = []
    if isinstance(source, Path):
        path = find_file(source, camera.name)
        if path is None:
            raise UnusablePhotoError(f"no image for this camera in {source}")
        reduced = _read_reduced(path, reduce) if reduce > 1 else None
        image, reduction, (width, height) = reduced if reduced is not None else _read_full(path)
    else:
        try:
            image = np.asarray(source(camera))
        except InputError as exc:
            raise UnusablePhotoError(str(exc)) from None
        if image.ndim not in (2, 3) or image.size == 0:
            raise UnusablePhotoError(f"the image source gave an array of shape {image.shape}, not an image")
        reduction = 1
        height, width = image.shape[:2]
    camera = _fit_camera(camera, width, height, notes)
    mask = None
    if masks is not None:
        mask = _read_mask(masks, camera, notes)
    return Photo(camera, image, mask, tuple(notes), reduction)


def _read_full(path: Path) -> tuple[NDArray[np.uint8], int, tuple[int, int]]:
    image = _read(path)
    return image, 1, (image.shape[1], image.shape[0])


#: OpenCV's flags for JPEG's scaled decoding (orientation ignored, as the full-size reader does).
_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def _read_reduced(path: Path, reduce: int) -> tuple[NDArray[np.uint8], int, tuple[int, int]] | None:
    """A JPEG decoded ``reduce`` times smaller, its reduction and its full ``(width, height)``; ``None`` for
    other formats or anything unusual (the full-size reader then reads it, or says what is wrong)."""
    import PIL.Image

    from lifecast.io.images import image_header_problem

    if reduce not in _REDUCED_FLAGS:
        return None
    try:
        with path.open("rb") as fh:
            if image_header_problem(fh, path.stat().st_size) is not None:
                return None
            fh.seek(0)
            with PIL.Image.open(fh) as im:
                if im.format != "JPEG":
                    return None
                width, height = im.size
    except Exception:
        return None
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        decoded = cv2.imdecode(np.fromfile(path, np.uint8), _REDUCED_FLAGS[reduce] | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        decoded = None
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if decoded is None or decoded.shape != (-(-height // reduce), -(-width // reduce), 3):
        return None
    return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), np.uint8), reduce, (width, height)


def _read(path: Path) -> NDArray[np.uint8]:
    from lifecast.io.images import read_image

    try:
        return read_image(path)
    except InputError as exc:
        raise UnusablePhotoError(exc.message) from None


def _fit_camera(camera: Camera, width: int, height: int, notes: list[str]) -> Camera:
    """The camera for an image of ``width`` x ``height``: itself, or scaled when the image is a uniform resize."""
    if (width, height) == (camera.width, camera.height):
        return camera
    factor = width / camera.width
    scaled = camera.scaled(factor)
    if (scaled.width, scaled.height) == (width, height) and abs(height / camera.height - factor) < 0.01 * factor:
        notes.append(f"the image is {width}x{height}, the camera {camera.width}x{camera.height}: camera scaled by "
                     f"{factor:.4g}")  # fmt: skip
        return scaled
    raise UnusablePhotoError(
        f"the image is {width}x{height} but its camera was calibrated for {camera.width}x{camera.height} "
        "(not a uniform resize: a cropped or different photo?)"
    )


def _read_mask(folder: Path, camera: Camera, notes: list[str]) -> NDArray[np.bool_] | None:
    path = find_file(folder, camera.name)
    if path is None:
        notes.append("no mask found: the whole photo is used")
        return None
    try:
        pixels = _read(path)
    except UnusablePhotoError as exc:
        notes.append(f"mask {path.name} unreadable ({exc}): the whole photo is used")
        return None
    h, w = pixels.shape[:2]
    if (w, h) != (camera.width, camera.height):
        if abs(w / camera.width - h / camera.height) > 0.01 * w / camera.width:
            notes.append(f"mask {path.name} is {w}x{h}, not the photo's shape: the whole photo is used")
            return None
        pixels = np.asarray(
            cv2.resize(pixels, (camera.width, camera.height), interpolation=cv2.INTER_NEAREST), np.uint8
        )
    return np.asarray(pixels.mean(axis=2) >= 127.5)
