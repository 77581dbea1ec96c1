"""The baked maps' files: each finished tile padded, encoded and written by a small thread pool while the baker
goes on (OpenCV, OpenEXR, zlib / ISA-L and numpy's large-array loops release the GIL).

Files are named ``<name>_<channel>.<UDIM>.<ext>`` (:class:`lifecast.bake.encoding.MapEncoding` gives the
extension); every tile also gets its coverage ``mask``, an 8-bit PNG, 255 where a low triangle covers the texel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.encoding import MapEncoding
from lifecast.bake.padding import pad_edges

#: Threads that pad, encode and write finished maps while the baker goes on.
WRITER_THREADS = 2


class MapWriter:
    """Pads, encodes and writes finished tiles on worker threads; collects paths, times and the first error.

    Parameters
    ----------
    out_dir
        Folder for the files.
    name
        File name prefix.
    encoding
        How each channel is stored.
    channels
        The maps that will be written (``mask`` is added).
    """

    def __init__(self, out_dir: Path, name: str, encoding: MapEncoding, channels: Sequence[str]) -> None:
        self._out_dir = out_dir
        self._name = name
        self._encoding = encoding
        #: ``{channel: {udim: path}}`` of every file written so far, ``mask`` last.
        self.paths: dict[str, dict[int, Path]] = {ch: {} for ch in (*channels, "mask")}
        #: Seconds spent per channel on the worker threads (read after :meth:`finish`).
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="lifecast-bake-writer")
        self._pending: list[Future[None]] = []

    def submit_tile(self, udim: int, images: dict[str, NDArray[Any]], mask: NDArray[np.bool_]) -> None:
        """Pad and write every map of one tile (``images`` is emptied) and its ``(size, size)`` coverage ``mask``."""
        for channel in list(images):
            self._submit(self._write_map, udim, channel, images.pop(channel), mask)
        self._submit(self._write_file, udim, "mask", mask.astype(np.uint8) * np.uint8(255))

    def finish(self) -> None:
        """Wait for every file; re-raise the first error."""
        for future in self._pending:
            future.result()
        self._pending.clear()

    def close(self) -> None:
        """Drop the files not started yet and wait for those being written."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))

    def _write_map(self, udim: int, channel: str, image: NDArray[Any], mask: NDArray[np.bool_]) -> None:
        t = time.perf_counter()
        padded = pad_edges(image, mask, fill_transform=self._encoding.fill_transform(channel))
        del image
        self._write_file(udim, channel, padded)
        self._add_seconds(channel, time.perf_counter() - t)

    def _write_file(self, udim: int, channel: str, image: NDArray[Any]) -> None:
        suffix = self._encoding.suffix(channel)
        path = self._out_dir / f"{self._name}_{channel}.{udim}{suffix}"
        self._encoding.write(path, channel, image)
        with self._lock:
            self.paths[channel][udim] = path

    def _add_seconds(self, step: str, value: float) -> None:
        with self._lock:
            self.seconds[step] = self.seconds.get(step, 0.0) + value
