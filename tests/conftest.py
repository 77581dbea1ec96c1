"""Shared fixtures: the real scans in ../shared/scans and small synthetic meshes."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from lifecast.mesh import TriMesh

REPO = Path(__file__).resolve().parents[1]
SHARED_SCANS = Path(os.environ.get("LIFECAST_SHARED_SCANS", REPO.parent / "shared" / "scans"))
SAMPLE_SCAN = REPO / "sample_scans" / "anny_head" / "anny_head_scan.ply"


def _require_shared() -> bool:
    return bool(os.environ.get("LIFECAST_REQUIRE_SHARED_SCANS") or os.environ.get("CI"))


def optional_required() -> bool:
    """Whether a missing optional package (an extra) fails a test instead of skipping it: in CI."""
    return bool(os.environ.get("LIFECAST_REQUIRE_OPTIONAL") or os.environ.get("CI"))


def require_optional(module: str, reason: str) -> ModuleType:
    """Import ``module``, a package of an extra, for the tests that need it.

    When it cannot be imported the test (or, called at module level, the whole file) skips
    with ``reason`` on a user's machine, and fails under ``LIFECAST_REQUIRE_OPTIONAL=1`` or
    ``CI`` (``.ci/run`` sets the flag; ``make setup-dev`` installs every extra).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        error = exc  # failed or skipped outside the handler: no chained traceback in the report
    msg = f"{module} cannot be imported ({error}): {reason}"
    if optional_required():
        pytest.fail(msg + "; LIFECAST_REQUIRE_OPTIONAL=1 (CI) requires it", pytrace=False)
    pytest.skip(msg, allow_module_level=True)


@pytest.fixture(scope="session")
def shared_scans() -> Path:
    """The folder of real scans; fails in CI when missing, skips with a reason elsewhere."""
    if not (SHARED_SCANS / "INDEX.md").is_file():
        msg = f"real scans not found at {SHARED_SCANS} (set LIFECAST_SHARED_SCANS to their folder)"
        if _require_shared():
            pytest.fail(msg + "; CI requires them", pytrace=False)
        pytest.skip(msg)
    return SHARED_SCANS


@pytest.fixture(scope="session")
def sample_scan() -> Path:
    """The bundled sample scan (sample_scans/anny_head)."""
    if not SAMPLE_SCAN.is_file():
        pytest.fail(f"bundled sample scan missing: {SAMPLE_SCAN}", pytrace=False)
    return SAMPLE_SCAN


def icosphere(subdivisions: int = 3, radius: float = 1.0) -> TriMesh:
    """A closed unit-ish sphere as a TriMesh (float32 vertices, int32 faces)."""
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return TriMesh(np.asarray(s.vertices, np.float32), np.asarray(s.faces, np.int32))


@pytest.fixture
def sphere() -> TriMesh:
    return icosphere(3)


def grid_plane(n: int = 10, size: float = 1.0) -> TriMesh:
    """An open square grid in the XY plane with 2*(n-1)^2 triangles."""
    xs = np.linspace(0.0, size, n, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs, indexing="xy")
    verts = np.stack([gx.ravel(), gy.ravel(), np.zeros(n * n, np.float32)], axis=1)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).astype(np.int32)
    return TriMesh(verts, faces)
