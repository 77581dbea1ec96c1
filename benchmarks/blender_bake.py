"""Bake a tangent-space normal map with Blender's Cycles (selected to active), for ``bm_bake.py``.

Runs inside the Blender venv (``.venv-blender``, the ``bpy==5.0.1`` wheel, Python 3.11, numpy<2),
never inside lifecast's:

    .venv-blender/bin/python benchmarks/blender_bake.py HIGH.ply LOW.obj SIZE CAGE OUT.npy

Both meshes are imported with identity axes (no Y-up conversion) and shaded smooth.
Cycles casts each texel's ray from the low surface pushed out by ``CAGE`` along its normal, inwards,
up to ``2 * CAGE`` (so detail up to ``CAGE`` above or below the low surface is found). One sample
per texel, OpenGL convention (+X, +Y, +Z), 16 px extend margin. Writes the float map as
``(SIZE, SIZE, 3)`` float32 ``.npy``, row 0 at v = 1 (lifecast's image convention), and prints one
line of JSON with the timings (wall and CPU seconds of the bake itself, and the render threads Cycles used).
"""

from __future__ import annotations

import json
import sys
import time

import bpy  # noqa: TID251 - this script runs inside Blender's own venv, never lifecast's
import numpy as np


def _import(path: str) -> bpy.types.Object:
    before = set(bpy.data.objects)
    if path.lower().endswith(".ply"):
        bpy.ops.wm.ply_import(filepath=path, forward_axis="Y", up_axis="Z")
    else:
        bpy.ops.wm.obj_import(filepath=path, forward_axis="Y", up_axis="Z")
    (obj,) = set(bpy.data.objects) - before
    return obj


def main() -> None:
    high_path, low_path, size_text, cage_text, out_path = sys.argv[-5:]
    size, cage = int(size_text), float(cage_text)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    t0 = time.perf_counter()
    high = _import(high_path)
    low = _import(low_path)
    for obj in (high, low):  # smooth shading: interpolated vertex normals, as lifecast bakes them
        obj.data.polygons.foreach_set("use_smooth", np.ones(len(obj.data.polygons), dtype=bool))
        obj.data.update()
    imported = time.perf_counter() - t0

    image = bpy.data.images.new("normal", width=size, height=size, float_buffer=True)
    image.colorspace_settings.name = "Non-Color"
    material = bpy.data.materials.new("bake")
    material.use_nodes = True
    node = material.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = image
    material.node_tree.nodes.active = node
    low.data.materials.clear()
    low.data.materials.append(material)

    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 1
    bpy.ops.object.select_all(action="DESELECT")
    high.select_set(True)
    low.select_set(True)
    bpy.context.view_layer.objects.active = low

    t1, c1 = time.perf_counter(), time.process_time()
    bpy.ops.object.bake(
        type="NORMAL",
        normal_space="TANGENT",
        normal_r="POS_X",
        normal_g="POS_Y",
        normal_b="POS_Z",
        use_selected_to_active=True,
        cage_extrusion=cage,
        max_ray_distance=2.0 * cage,
        margin=16,
        target="IMAGE_TEXTURES",
    )
    baked, baked_cpu = time.perf_counter() - t1, time.process_time() - c1
    pixels = np.array(image.pixels[:], dtype=np.float32).reshape(size, size, 4)[::-1, :, :3]
    np.save(out_path, np.ascontiguousarray(pixels))
    timings = {"import_s": imported, "bake_s": baked, "bake_cpu_s": baked_cpu, "total_s": time.perf_counter() - t0}
    print(json.dumps({**timings, "threads": scene.render.threads, "threads_mode": scene.render.threads_mode}))


if __name__ == "__main__":
    main()
