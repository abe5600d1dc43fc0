"""One rule for turning results into JSON (docs/design.md): numpy scalars become numbers, arrays and
tuples lists, dict keys strings, and the non-finite floats the strings "inf", "-inf" and "nan"
(JSON has none), so the output is always strict JSON that any reader accepts."""

from __future__ import annotations

import dataclasses
import math

import numpy as np


def jsonable(x, strict: bool = False):
    """A copy of `x` made only of dict, list, str, int, float (finite), bool and None.

    Other objects become their `to_dict()`, their dataclass fields, or (unless `strict`, which
    raises TypeError instead) their repr.
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v, strict) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v, strict) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist(), strict)
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        if math.isfinite(x):
            return x
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    if hasattr(x, "to_dict"):
        return jsonable(x.to_dict(), strict)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return jsonable(dataclasses.asdict(x), strict)
    if strict:
        raise TypeError(f"{type(x).__name__} is not JSON data")
    return repr(x)
