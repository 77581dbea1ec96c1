"""Batches and render farms: manifests of many scans, a local pool, Open Job Description bundles.

- :mod:`lifecast.farm.manifest`  TOML/YAML manifests: scans, subjects, defaults, per-scan overrides
- :mod:`lifecast.farm.batch`     ``lifecast batch``: a bounded local pool of task subprocesses, a report
- :mod:`lifecast.farm.openjd`    ``lifecast farm bundle``: OpenJD job bundles (``openjd run``, Deadline Cloud)
- :mod:`lifecast.farm.tasks`     ``lifecast farm task``: one scan's stages, locked, cached, kill-safe
- :mod:`lifecast.farm.outputs`   content-hash manifest of a published asset; the per-task lock
- :mod:`lifecast.farm.sizing`    memory a scan needs, from its size

See docs/farm.md.
"""
