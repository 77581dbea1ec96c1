"""The stages of ``lifecast process``, one module each.

Each module holds one stage's body, ``run(ctx) -> outputs`` (see
:class:`lifecast.pipeline.stage.Stage`), and its code ``VERSION``: bump it
whenever a change to ``run`` changes the stage's outputs. The stage graph, the
parameters and the keys live in :func:`lifecast.pipeline.scan_to_asset.build_stages`.

=========  ============================================================
ingest     read the scan (meshing point clouds), to asset units and Y up
clean      repair it and write the QA report
lod        decimate it into an LOD chain
wrap       (with a template, in the place of lod) the template wrapped onto it
uv         unwrap every LOD, or keep the scan's or the template's UVs
texture    bake the scan onto every LOD's UVs
export     write and validate the USD asset
=========  ============================================================
"""
