"""How much memory a scan's job needs, from its size, before running it.

A job's peak is the larger of two stages' (measured with ``benchmarks/bm_dense.py`` and the sample scan, the
resident memory of the job and its child processes)::

    geometry (the LOD decimation):  GEOMETRY_BASE_MIB + MIB_PER_MFACE_GEOMETRY * faces / 1e6
    textures (bake, delight, inpaint): BASE_MIB + MIB_PER_MTEXEL * texels / 1e6 + MIB_PER_MFACE * faces / 1e6

fitted on this project's CI machine (2 cores, numpy/open3d/torch/usd-core wheels; see docs/farm.md), with
delight and inpaint on (``--no-delight --no-inpaint`` need less: the model stays on the safe side):

=====================================  ==========  ========  ========  =========  ==========
run (2026-12-07)                       triangles   texels    peak MiB  in stage   model MiB
=====================================  ==========  ========  ========  =========  ==========
sample head, LODs 20k/5k/1k, 512 px    204,704     0.79 M    1,007     delight    1,315
sample head, defaults, 4K              204,704     22.0 M    3,709     inpaint    3,780
dense head, defaults, 4K               1,131,776   22.0 M    3,654     inpaint    3,873
dense head, defaults, 4K               10,185,984  22.0 M    6,774     lod        6,904
dense head, defaults, 4K               29,726,804  22.0 M    17,333    lod        17,847
=====================================  ==========  ========  ========  =========  ==========

It is meant to be safe rather than exact: the scheduler and the farm's host requirements add
:data:`HEADROOM`; the memory gate of ``lifecast process`` uses it as it is.
"""

from __future__ import annotations

from pathlib import Path

from lifecast.farm.manifest import ScanTask

#: The texture stages' fixed part (Python, numpy, torch and the models loaded).
BASE_MIB = 900.0
#: Per million scan triangles while the maps are made (the scan's copy for the bake's ray queries).
MIB_PER_MFACE = 100.0
#: Per million texels baked (the maps, the delight's and the inpaint's working images).
MIB_PER_MTEXEL = 130.0
#: The LOD stage's fixed part and its cost per million triangles (the decimator's buffers, in a child process).
GEOMETRY_BASE_MIB = 1200.0
MIB_PER_MFACE_GEOMETRY = 560.0
HEADROOM = 1.25
#: Bytes of file per triangle when the header says nothing (binary PLY with colours: ~28; OBJ: ~60).
BYTES_PER_FACE_GUESS = 30.0


def estimate_faces(path: Path) -> int:
    """Triangle count of a scan from its header (PLY) or its size (everything else).

    A PLY point cloud counts as two triangles per point (what meshing yields).
    Returns 0 for a file that cannot be read; the job itself reports why.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return 0
    if head.startswith(b"ply"):
        counts: dict[str, int] = {}
        for line in head.split(b"end_header")[0].decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "element" and parts[2].isdigit():
                counts[parts[1]] = int(parts[2])
        if counts.get("face"):
            return counts["face"]
        if counts.get("vertex"):
            return 2 * counts["vertex"]
    return int(size / BYTES_PER_FACE_GUESS)


def texels_baked(texture_size: int, lod_count: int, udims: int = 1) -> int:
    """Albedo texels a job bakes: LOD *i* at ``texture_size / 2**i``, at least 512 (UDIM tiles each)."""
    per_lod = [max(min(512, texture_size), texture_size >> i) ** 2 for i in range(lod_count)]
    return sum(per_lod) * udims


def texels(task: ScanTask) -> int:
    """:func:`texels_baked` of a manifest's scan."""
    return texels_baked(task.texture_size, len(task.lods), int(task.options.get("udims", 1)))


def job_memory_mib(faces: int, texels: int) -> float:
    """The model's peak resident memory, MiB, of one ``lifecast process`` of ``faces`` triangles baking ``texels``
    texels (no headroom)."""
    geometry = GEOMETRY_BASE_MIB + MIB_PER_MFACE_GEOMETRY * faces / 1e6
    textures = BASE_MIB + MIB_PER_MFACE * faces / 1e6 + MIB_PER_MTEXEL * texels / 1e6
    return max(geometry, textures)


def estimate_memory_mib(task: ScanTask, with_texture: bool = True) -> int:
    """Peak resident memory, MiB, one ``lifecast process`` of ``task`` needs (headroom included).

    Parameters
    ----------
    task
        The scan and its options.
    with_texture
        Count the texture bake; ``False`` for tasks that stop before it.
    """
    return round(job_memory_mib(estimate_faces(task.scan), texels(task) if with_texture else 0) * HEADROOM)
