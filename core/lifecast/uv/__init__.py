"""UVs: automatic unwrapping (xatlas), UDIM layout and texel density.

Every function keeps the mesh's vertices and faces (and their order) and only
sets ``uvs`` / ``face_uvs`` (see :mod:`lifecast.mesh`).
"""

from lifecast.uv.charts import uv_charts
from lifecast.uv.density import texel_density
from lifecast.uv.udim import face_udims, udim_layout, udim_tiles
from lifecast.uv.unwrap import UnwrapResult, default_padding_px, unwrap, unwrap_arrays

__all__ = [
    "UnwrapResult",
    "default_padding_px",
    "face_udims",
    "texel_density",
    "udim_layout",
    "udim_tiles",
    "unwrap",
    "unwrap_arrays",
    "uv_charts",
]
