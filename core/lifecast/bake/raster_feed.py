"""The bake's tiles rasterized on a thread of their own, in bands of texels, running ahead of the baker.

Each tile is rasterized (which low triangle and barycentrics cover each texel) by
:class:`lifecast.bake.rasterize.TileRasterizer` on the CPU, or by the torch rasterizer on other devices, and
served in bands of :data:`TEXEL_CHUNK` texels through a bounded queue, so an 8K tile bakes in bounded memory.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.rasterize import TexelRaster, TileRasterizer
from lifecast.mesh import TriMesh
from lifecast.uv.udim import tile_origin

#: Texels per band of a tile rasterized and baked at once (small enough that its arrays stay in cache).
TEXEL_CHUNK = 1 << 18

#: Bands the rasterizer thread may run ahead of the baker (a 2K tile is 16 bands; about 100 MB at most at 8K).
RASTER_AHEAD = 16


class TileRaster(Protocol):
    """What the baker needs from a tile rasterizer (:class:`lifecast.bake.rasterize.TileRasterizer`)."""

    def overlap_count(self) -> int: ...

    def interior_texels(self) -> int: ...

    def bands(self, texels_per_band: int, *, count_overlaps: bool = True) -> Iterator[TexelRaster]: ...


def tile_rasterizer(low: TriMesh, tile_faces: NDArray[np.int64], udim: int, size: int, device: str) -> TileRaster:
    """The rasterizer of one tile's faces: the numpy row-run one on the CPU (measured faster there, and streamed
    in bands), the torch one on other devices; both give the same triangles (tests/unit/test_bake_raster_torch.py).
    """
    assert low.uvs is not None and low.face_uvs is not None
    origin = np.array(tile_origin(udim), np.float32)
    corners = (low.uvs[low.face_uvs[tile_faces]] - origin).astype(np.float64)
    if device == "cpu":
        return TileRasterizer(corners, size)
    from lifecast.bake.raster_torch import TorchTileRaster

    return TorchTileRaster(corners, size, device)


@dataclass(frozen=True)
class TileHead:
    """What the rasterizer thread knows of a tile before its first band: its faces and UV overlaps.

    Attributes
    ----------
    udim
        The tile.
    tile_faces
        ``(f,) int64`` the low faces in the tile; a band's ``face`` indexes into these.
    overlap
        Texels inside two or more of its triangles.
    interior
        Texel centres inside a triangle, summed over its triangles.
    """

    udim: int
    tile_faces: NDArray[np.int64]
    overlap: int
    interior: int


@dataclass(frozen=True)
class _FeedError:
    error: BaseException


_END_OF_TILE = object()


class RasterFeed:
    """Rasterizes the tiles, in order, on a thread of its own: a head per tile, then its non-empty bands.

    numpy releases the GIL in its large loops, so the rasterization runs beside the baker's own numpy work
    (the normals, the tangent frames, the band maths) on the second core; while open3d builds its BVH or
    casts rays it holds the GIL, and the thread waits. Up to :data:`RASTER_AHEAD` bands wait in the queue.
    Errors are raised again in the baker's thread.

    Parameters
    ----------
    low
        The mesh with UVs.
    tiles
        The UDIMs to rasterize, in order.
    face_tile
        ``(m,)`` the UDIM of each low face.
    size
        Texels along each side of a tile.
    device
        ``"cpu"`` (row runs) or a torch device.
    """

    def __init__(
        self, low: TriMesh, tiles: Sequence[int], face_tile: NDArray[np.int64], size: int, device: str
    ) -> None:
        #: Seconds the thread spent rasterizing (read after :meth:`close`).
        self.seconds = 0.0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=RASTER_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(low, list(tiles), face_tile, size, device), name="lifecast-bake-raster"
        )
        self._thread.start()

    def next_tile(self) -> TileHead:
        """The head of the next tile (after the last band of the one before)."""
        item = self._get()
        assert isinstance(item, TileHead)
        return item

    def next_band(self) -> TexelRaster | None:
        """The next band of the current tile, ``None`` after its last."""
        item = self._get()
        if item is _END_OF_TILE:
            return None
        assert isinstance(item, TexelRaster)
        return item

    def close(self) -> None:
        """Stop the thread (if it is still running) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _get(self) -> object:
        item = self._queue.get()
        if isinstance(item, _FeedError):
            raise item.error
        return item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, low: TriMesh, tiles: list[int], face_tile: NDArray[np.int64], size: int, device: str) -> None:
        try:
            for udim in tiles:
                t = time.perf_counter()
                tile_faces = np.flatnonzero(face_tile == udim)
                rasterizer = tile_rasterizer(low, tile_faces, udim, size, device)
                head = TileHead(udim, tile_faces, rasterizer.overlap_count(), rasterizer.interior_texels())
                self.seconds += time.perf_counter() - t
                if not self._put(head):
                    return
                bands = rasterizer.bands(TEXEL_CHUNK, count_overlaps=False)
                while True:
                    t = time.perf_counter()
                    band = next(bands, None)
                    self.seconds += time.perf_counter() - t
                    if band is not None and len(band.texel) == 0:
                        continue
                    if not self._put(_END_OF_TILE if band is None else band):
                        return
                    if band is None:
                        break
        except BaseException as error:  # raised again in the baker's thread
            self._put(_FeedError(error))
