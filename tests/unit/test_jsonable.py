"""The one JSON fallback: numpy arrays keep their shape as nesting, numpy scalars become numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifecast.jsonable import json_default


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (np.float32(1.5), 1.5),
        (np.int64(3), 3),
        (np.bool_(True), True),
        (np.array(2.5), 2.5),
        (np.array([4]), [4]),
        (np.arange(6, dtype=np.int32).reshape(2, 3), [[0, 1, 2], [3, 4, 5]]),
        (np.zeros((0, 3)), []),
        (Path("maps/a.png"), "maps/a.png"),
    ],
)
def test_numpy_values_and_paths_become_plain_json(value: object, plain: object) -> None:
    text = json.dumps({"v": value}, default=json_default)
    back = json.loads(text)["v"]
    assert back == plain and type(back) is type(plain)
