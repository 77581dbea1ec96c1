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
    """

    camera: Camera
    image: NDArray[np.generic]
    mask: NDArray[np.bool_] | None
    notes: tuple[str, ...]


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


def load_photo(source: ImageSource, camera: Camera, masks: Path | None = None) -> Photo:
    """Read and check one camera's photo (and mask).

    Parameters
    ----------
    source
        The images folder, or a function returning a camera's image.
    camera
        The camera.
    masks
        Folder of masks named like the photos (white: usable), or ``None``.

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
        image = _read(path)
    else:
        try:
            image = np.asarray(source(camera))
        except InputError as exc:
            raise UnusablePhotoError(str(exc)) from None
        if image.ndim not in (2, 3) or image.size == 0:
            raise UnusablePhotoError(f"the image source gave an array of shape {image.shape}, not an image")
    height, width = image.shape[:2]
    camera = _fit_camera(camera, width, height, notes)
    mask = None
    if masks is not None:
        mask = _read_mask(masks, camera, notes)
    return Photo(camera, image, mask, tuple(notes))


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
