"""The QA report's rendered check, run by Blender's Python: a lifecast USD asset through Cycles, three angles.

Run as a script by the core's ``lifecast qa render`` (never imported by the add-on, and it never imports lifecast)::

    python qa_render.py ASSET.usda OUT_DIR [--samples 8] [--size 384]

It imports the asset with Blender's USD importer (the render meshes, the UsdPreviewSurface materials and their
textures), hides the proxy, lights it with a uniform white world (no key light: the colour an unoccluded surface
shows is its albedo), frames it with an orthographic camera and renders ``render_front.png``,
``render_three_quarter.png`` and ``render_profile.png`` (RGBA, transparent background, "Standard" view transform so
sRGB albedo comes out as sRGB) with Cycles on the CPU into ``OUT_DIR``. The last line on stdout is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import bpy
from mathutils import Vector

#: (file stem, yaw in degrees) of each render; yaw 0 looks at the asset's front (its +Z in USD, -Y in Blender).
ANGLES = (("render_front", 0.0), ("render_three_quarter", 40.0), ("render_profile", 90.0))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("asset", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.wm.usd_import(filepath=str(args.asset))
    if "FINISHED" not in result:
        print(json.dumps({"ok": False, "error": f"Blender's USD importer could not read {args.asset}"}))
        return 1
    meshes = [o for o in bpy.data.objects if o.type == "MESH" and _is_render_mesh(o)]
    for o in bpy.data.objects:
        if o.type == "MESH" and o not in meshes:
            o.hide_render = True
    if not meshes:
        print(json.dumps({"ok": False, "error": "no render mesh in the asset"}))
        return 1
    lo, hi = _bounds(meshes)
    scene = bpy.context.scene
    _setup_render(scene, args.samples, args.size)
    camera = _camera(scene, lo, hi)
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, yaw in ANGLES:
        _aim(camera, lo, hi, yaw)
        path = args.out / f"{stem}.png"
        scene.render.filepath = str(path)
        bpy.ops.render.render(write_still=True)
        written.append(str(path))
    summary = {
        "ok": True,
        "renders": written,
        "meshes": [o.name for o in meshes],
        "materials": sorted({s.material.name for o in meshes for s in o.material_slots if s.material}),
        "samples": args.samples,
        "size": args.size,
        "seconds": round(time.perf_counter() - t0, 2),
        "blender": bpy.app.version_string,
    }
    print(json.dumps(summary))
    return 0


def _is_render_mesh(obj: bpy.types.Object) -> bool:
    """Not the proxy: lifecast's proxy mesh lives under ``geo/proxy`` (Blender keeps the prim path in names)."""
    names = [obj.name.lower()] + ([obj.parent.name.lower()] if obj.parent else [])
    return not any("proxy" in n for n in names)


def _bounds(meshes: list[bpy.types.Object]) -> tuple[Vector, Vector]:
    corners = [o.matrix_world @ Vector(c) for o in meshes for c in o.bound_box]
    lo = Vector((min(c.x for c in corners), min(c.y for c in corners), min(c.z for c in corners)))
    hi = Vector((max(c.x for c in corners), max(c.y for c in corners), max(c.z for c in corners)))
    return lo, hi


def _setup_render(scene: bpy.types.Scene, samples: int, size: int) -> None:
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.max_bounces = 2
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = True
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    world = bpy.data.worlds.new("lifecast_neutral")
    world.use_nodes = True
    background = world.node_tree.nodes.get("Background")
    background.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    background.inputs["Strength"].default_value = 1.0
    scene.world = world


def _camera(scene: bpy.types.Scene, lo: Vector, hi: Vector) -> bpy.types.Object:
    data = bpy.data.cameras.new("lifecast_qa")
    data.type = "ORTHO"
    data.ortho_scale = max(hi - lo) * 1.1
    camera = bpy.data.objects.new("lifecast_qa", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    data.clip_end = max(hi - lo) * 10.0
    return camera


def _aim(camera: bpy.types.Object, lo: Vector, hi: Vector, yaw: float) -> None:
    """Put the camera on a circle around the asset at ``yaw`` degrees from its front, level, looking at its centre."""
    centre = (lo + hi) / 2
    distance = max(hi - lo) * 3.0
    a = math.radians(yaw)
    camera.location = centre + Vector((math.sin(a), -math.cos(a), 0.0)) * distance
    camera.rotation_euler = (centre - camera.location).to_track_quat("-Z", "Y").to_euler()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
