"""Moving a camera rig from one frame to another: the scan file's frame to the asset's.

A photogrammetry session's cameras live in the frame and units of the scan it delivered. The pipeline converts
the scan to the asset's units and Y up (:func:`lifecast.pipeline.stages.ingest.asset_transform`), so the cameras
must follow, with the same similarity ``x' = s R x + t``: a camera's pose turns and moves with it, and its frame
is scaled by ``s`` too, so that depths come out in the new units (a pinhole projection ``f x / z`` does not
change when ``x`` and ``z`` scale alike; the intrinsics and the distortion, which act on ``x / z``, stay).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lifecast.io.cameras.model import CameraRig

__all__ = ["similarity_parts", "transform_rig"]


def similarity_parts(matrix: ArrayLike) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """Split a ``(4, 4)`` similarity ``[[s R, t], [0, 1]]`` into ``s``, ``(3, 3)`` ``R`` and ``(3,)`` ``t``.

    Raises
    ------
    ValueError
        The matrix is not a similarity: a shear, a mirror (a rig cannot be mirrored), a zero scale, a
        projective row.
    """
    m = np.asarray(matrix, np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise ValueError(f"expected a finite (4, 4) matrix, got shape {m.shape}")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f"the last row of a similarity is (0, 0, 0, 1), got {m[3].tolist()}")
    linear = m[:3, :3]
    det = float(np.linalg.det(linear))
    if det <= 0:
        raise ValueError(f"a similarity keeps handedness and has a positive scale (determinant {det:.4g})")
    scale = det ** (1.0 / 3.0)
    rotation = linear / scale
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6):
        raise ValueError("the matrix is not a rotation times a uniform scale (it shears or scales unevenly)")
    return scale, rotation, m[:3, 3].copy()


def transform_rig(rig: CameraRig, matrix: ArrayLike) -> CameraRig:
    """The rig moved by the similarity ``matrix``: every camera sees at ``M x`` what it saw at ``x``.

    Parameters
    ----------
    rig
        Cameras in the source frame (world-to-camera ``x_cam = R x + t``).
    matrix
        ``(4, 4)`` similarity from the source frame to the target frame (:func:`similarity_parts`).

    Returns
    -------
    CameraRig
        The same cameras in the target frame: ``R' = R Q^T``, ``t' = s t - R' c`` for ``matrix = [[s Q, c], [0, 1]]``
        (the centre goes to ``s Q centre + c``); intrinsics, distortion and names unchanged; a note says what was
        done (the identity returns ``rig`` itself).
    """
    scale, rotation, shift = similarity_parts(matrix)
    if scale == 1.0 and np.array_equal(rotation, np.eye(3)) and not shift.any():
        return rig
    cameras = []
    for cam in rig.cameras:
        turned = cam.rotation @ rotation.T
        cameras.append(dataclasses.replace(cam, rotation=turned, translation=scale * cam.translation - turned @ shift))
    note = f"moved into another frame by a similarity of scale {scale:.6g}"
    return CameraRig(tuple(cameras), rig.source, (*rig.notes, note))
