"""A scan that cannot fit in memory is refused up front (exit 2, one line, nothing written), not killed half-way."""

from __future__ import annotations

from pathlib import Path

import pytest

import lifecast.pipeline.memory_gate as gate
from lifecast.errors import InputError
from lifecast.farm.sizing import job_memory_mib, texels_baked
from lifecast.pipeline.options import ProcessOptions
from lifecast.pipeline.scan_to_asset import process_scan


def _ply(path: Path, faces: int, data_bytes: int) -> Path:
    header = "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    header += f"property float z\nelement face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
    path.write_bytes(header.encode() + b"\0" * data_bytes)
    return path


def test_a_scan_larger_than_the_free_memory_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan = _ply(tmp_path / "big.ply", 30_000_000, 30_000_000 * 13)  # a 30M-triangle binary PLY's size (sparse)
    need = job_memory_mib(30_000_000, texels_baked(4096, 3))
    monkeypatch.setattr(gate, "available_memory_mib", lambda: need - 1.0)
    out = tmp_path / "out"
    with pytest.raises(InputError) as refused:
        process_scan(ProcessOptions(scan=scan, out_dir=out))
    message = str(refused.value)
    assert "30,000,000 triangles" in message and "GiB is available" in message and "\n" not in message
    assert not out.exists() and not (tmp_path / ".lifecast").exists()
    monkeypatch.setenv("LIFECAST_NO_MEMORY_CHECK", "1")
    gate.check_fits_in_memory(ProcessOptions(scan=scan, out_dir=out))  # the override lets it through
    monkeypatch.delenv("LIFECAST_NO_MEMORY_CHECK")
    monkeypatch.setattr(gate, "available_memory_mib", lambda: need + 1.0)
    gate.check_fits_in_memory(ProcessOptions(scan=scan, out_dir=out))  # fits: no refusal


def test_a_header_that_lies_is_left_to_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A header claiming 10^12 triangles in a few bytes is a truncated file (the reader says so), not a memory
    problem: the estimate never counts more triangles than the file can hold."""
    scan = _ply(tmp_path / "liar.ply", 10**12, 600)
    monkeypatch.setattr(gate, "available_memory_mib", lambda: job_memory_mib(1_000, texels_baked(4096, 3)))
    gate.check_fits_in_memory(ProcessOptions(scan=scan, out_dir=tmp_path / "out"))


def test_the_template_job_bakes_one_lod() -> None:
    assert texels_baked(4096, 1) == 4096**2 < texels_baked(4096, 3)
