"""Names and metadata values that USD can hold.

USD prim names must be identifiers, variant names have their own small
alphabet, and ``customData`` dictionaries hold typed scalars, typed arrays and
nested dictionaries only. These helpers turn what the pipeline has (asset
names typed by artists, provenance records with paths, numpy scalars and lists
of records) into those forms, predictably.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pxr import Tf, Vt

__all__ = ["check_variant_name", "prim_name", "to_usd_dictionary", "to_usd_value"]

_VARIANT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
_INT64 = (-(2**63), 2**63 - 1)


def prim_name(name: str) -> str:
    """``name`` made into a valid USD prim identifier (``Tf.MakeValidIdentifier``).

    ``"anny head-01"`` becomes ``"anny_head_01"``, ``"01_head"`` becomes ``"_1_head"``.
    """
    if not name or not name.strip():
        raise ValueError("an asset name must not be empty")
    return str(Tf.MakeValidIdentifier(name.strip()))


def check_variant_name(name: str) -> str:
    """Return ``name`` if it is a valid variant name (letters, digits, ``_``, ``-``), else raise ``ValueError``."""
    if not _VARIANT_NAME.match(name):
        raise ValueError(f"invalid variant name {name!r}: use letters, digits, '_' and '-'")
    return name


def to_usd_value(value: Any) -> Any:
    """Convert one metadata value to something a USD dictionary can hold.

    - ``str``, ``bool``, ``float`` and ``int`` (within int64) stay as they are;
      numpy scalars become their Python value; path-like objects become ``str``;
    - mappings become dictionaries (recursively, keys made ``str``);
    - sequences (and numpy arrays) of one scalar kind become typed arrays
      (``string[]``, ``bool[]``, ``int64[]``, ``double[]``; mixed ints and
      floats become ``double[]``); an empty sequence becomes ``string[]``;
    - any other sequence (records, nested lists, mixed kinds) becomes its JSON
      text, with non-JSON values written with ``str``;
    - anything else (``None``, dates, objects) becomes ``str(value)``.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return to_usd_dictionary(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes | bytearray):
        return _to_usd_array(list(value))
    return str(value)


def to_usd_dictionary(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """Convert a (nested) mapping to a dictionary USD can store as ``customData``.

    Keys become ``str``; values go through :func:`to_usd_value`.
    """
    return {str(key): to_usd_value(value) for key, value in mapping.items()}


def _to_usd_array(items: list[Any]) -> Any:
    items = [item.item() if isinstance(item, np.generic) else item for item in items]
    if not items or all(isinstance(item, str) for item in items):
        return Vt.StringArray(items)
    if all(isinstance(item, bool) for item in items):
        return Vt.BoolArray(items)
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        if all(_INT64[0] <= item <= _INT64[1] for item in items):
            return Vt.Int64Array(items)
    elif all(isinstance(item, int | float) and not isinstance(item, bool) for item in items):
        return Vt.DoubleArray([float(item) for item in items])
    return json.dumps(items, default=str, allow_nan=True, sort_keys=False)
