"""Atomic writes: no reader ever sees half a file or half a directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecast.pipeline.atomic import atomic_dir, atomic_path, write_text_atomic
from lifecast.pipeline.hashing import canonical_json, hash_arrays, hash_params


def test_atomic_path_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "asset.usda"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["asset.usda"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_atomic_path_keeps_the_suffix_for_format_sniffing_writers(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "albedo.png") as tmp:
        assert tmp.suffix == ".png"
        tmp.write_bytes(b"x")


def test_atomic_dir_discards_on_error_and_yields_to_a_finished_twin(tmp_path: Path) -> None:
    final = tmp_path / "entry"
    with pytest.raises(KeyError), atomic_dir(final) as tmp:
        (tmp / "a").write_text("1")
        raise KeyError("x")
    assert not final.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(final) as tmp:
        (tmp / "a").write_text("first")
    with atomic_dir(final) as tmp:  # a second worker that raced on the same key
        (tmp / "a").write_text("second")
    assert (final / "a").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
def test_param_hash_ignores_key_order(params: dict[str, object]) -> None:
    reordered = dict(reversed(list(params.items())))
    assert hash_params(params) == hash_params(reordered)
    assert canonical_json(params) == canonical_json(reordered)


def test_array_hash_sees_dtype_shape_and_bytes() -> None:
    a = np.arange(6, dtype=np.float32)
    assert hash_arrays({"a": a}) == hash_arrays({"a": a.copy()})
    assert hash_arrays({"a": a}) != hash_arrays({"a": a.astype(np.float64)})
    assert hash_arrays({"a": a}) != hash_arrays({"a": a.reshape(2, 3)})
    assert hash_arrays({"a": a}) != hash_arrays({"b": a})


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("y")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
