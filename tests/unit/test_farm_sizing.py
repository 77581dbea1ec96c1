"""Memory estimates, pool sizing and the batch's exit code."""

from __future__ import annotations

from pathlib import Path

from lifecast.farm.batch import STATUS, BatchReport, ScanResult, plan_concurrency
from lifecast.farm.manifest import ScanTask
from lifecast.farm.sizing import BASE_MIB, HEADROOM, estimate_faces, estimate_memory_mib, texels


def _ply(path: Path, vertices: int, faces: int) -> Path:
    header = f"ply\nformat binary_little_endian 1.0\nelement vertex {vertices}\nproperty float x\n"
    if faces:
        header += f"element face {faces}\nproperty list uchar int vertex_indices\n"
    path.write_bytes((header + "end_header\n").encode() + b"\0" * 64)
    return path


def test_faces_come_from_the_ply_header_or_the_file_size(tmp_path: Path) -> None:
    assert estimate_faces(_ply(tmp_path / "m.ply", 1000, 1996)) == 1996
    assert estimate_faces(_ply(tmp_path / "pc.ply", 5000, 0)) == 10_000  # a point cloud meshes to ~2 per point
    obj = tmp_path / "m.obj"
    obj.write_bytes(b"v 0 0 0\n" * 3000)
    assert 500 < estimate_faces(obj) < 2000
    assert estimate_faces(tmp_path / "missing.ply") == 0


def test_memory_grows_with_triangles_and_texels(tmp_path: Path) -> None:
    small = ScanTask(_ply(tmp_path / "s.ply", 100, 200), "s", {"lods": [100], "texture_size": 256})
    big = ScanTask(_ply(tmp_path / "b.ply", 500_000, 1_000_000), "b", {"lods": [100_000], "texture_size": 256})
    big_tex = ScanTask(big.scan, "t", {"lods": [100_000, 25_000], "texture_size": 4096})
    assert texels(big_tex) == 4096**2 + 2048**2
    assert BASE_MIB * HEADROOM <= estimate_memory_mib(small) < estimate_memory_mib(big) < estimate_memory_mib(big_tex)
    assert estimate_memory_mib(big_tex, with_texture=False) == estimate_memory_mib(big, with_texture=False)


def test_the_pool_is_bounded_by_cores_memory_and_scans() -> None:
    assert plan_concurrency([1000] * 10, cores=8, available_mib=3500) == 3
    assert plan_concurrency([1000] * 10, cores=2, available_mib=64000) == 2
    assert plan_concurrency([1000] * 2, cores=16, available_mib=64000) == 2
    assert plan_concurrency([9000], cores=4, available_mib=1000) == 1  # one always runs


def _result(code: int) -> ScanResult:
    status, retry = STATUS[code]
    return ScanResult("x", "x.ply", code, status, retry, None, 1.0, 100.0, 500, 0, "x.jsonl")


def test_exit_code_tells_retry_from_bad_input() -> None:
    report = BatchReport("m.toml", "out", "cache", 2, 1.0, [_result(0), _result(0)])
    assert report.exit_code() == 0 and report.ok
    report.results.append(_result(2))
    assert report.exit_code() == 2, "only bad input: retrying the batch will not help"
    report.results.append(_result(130))
    assert report.exit_code() == 1, "an interrupted scan may pass on a retry"
    assert STATUS[2] == ("bad_input", False) and STATUS[1] == ("failed", True) and STATUS[143][1]
    body = report.to_json()
    assert body["failed"] == ["x", "x"] and len(body["succeeded"]) == 2
