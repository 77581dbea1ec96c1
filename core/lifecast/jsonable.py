"""The one JSON fallback for values that ``json`` cannot write itself.

Event payloads, cached stage values and the QA report all carry numpy values
that sneak in from the algorithms (``np.float32`` timings, ``(n,)`` counts) and
the odd path; :func:`json_default` turns them into plain JSON.
"""

from __future__ import annotations


def json_default(obj: object) -> object:
    """``default=`` for :func:`json.dumps`: arrays to nested lists, scalars to numbers, the rest to ``str``.

    Parameters
    ----------
    obj
        What :mod:`json` could not encode: a numpy (or torch) array of any
        shape ``(n, ...)``, a numpy scalar or 0-d array, a :class:`~pathlib.Path`, ...

    Returns
    -------
    object
        ``obj.tolist()`` for an array with at least one axis (its shape kept as
        nesting), ``obj.item()`` for a scalar, else ``str(obj)``.
    """
    if getattr(obj, "ndim", 0) > 0 and hasattr(obj, "tolist"):
        return obj.tolist()  # type: ignore[attr-defined]
    if hasattr(obj, "item"):
        return obj.item()  # type: ignore[attr-defined]
    return str(obj)


__all__ = ["json_default"]
