"""Turning user input (numpy arrays, nested lists, torch tensors) into checked numpy matrices.

Shared by every instance type so that bad input fails the same way everywhere:
`InvalidInstance` naming the field and the fault (docs/design.md, "Instance types").
"""

from __future__ import annotations

import numpy as np

from sethlab.errors import InvalidInstance


def to_numpy(value, field: str) -> np.ndarray:
    """Return `value` as a numpy array without judging its contents; torch tensors are detached and moved to the CPU."""
    if type(value).__module__.startswith("torch"):
        try:
            value = value.detach().cpu().numpy()
        except Exception as exc:  # e.g. a sparse or meta tensor
            raise InvalidInstance(f"{field}: cannot read torch value ({exc})") from None
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInstance(f"{field}: not a rectangular numeric array ({exc})") from None
    return arr


def as_matrix(value, field: str, *, dtype=np.float64) -> np.ndarray:
    """A finite, non-empty 2-D read-only copy of `value` in `dtype`.

    Booleans and integers are accepted as numbers; strings, objects, complex
    values, NaN and infinities are refused with the position of the first bad entry.
    """
    arr = to_numpy(value, field)
    if arr.dtype == object and arr.size and all(isinstance(v, (int, float, bool, np.number)) for v in arr.flat):
        try:  # e.g. Python ints too large for int64
            arr = arr.astype(np.float64)
        except OverflowError:
            raise InvalidInstance(f"{field}: an entry is too large for float64 (entries must be finite)") from None
    if arr.dtype == object or arr.dtype.kind in "USVOMm":
        raise InvalidInstance(f"{field}: entries must be real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "c":
        raise InvalidInstance(f"{field}: entries must be real numbers, got complex dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidInstance(f"{field}: must be a 2-D matrix, got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidInstance(f"{field}: must not be empty, got shape {arr.shape}")
    out = np.array(arr, dtype=dtype, copy=True)
    if not np.isfinite(out).all():
        bad = np.argwhere(~np.isfinite(out))[0]
        original = arr[tuple(bad)]
        raise InvalidInstance(
            f"{field}: entry {tuple(int(i) for i in bad)} is {original} (entries must be finite)"
        )
    out.flags.writeable = False
    return out


def max_abs(arr: np.ndarray) -> float:
    """The entrywise norm ‖M‖∞ of docs/problems.md §0 (largest absolute entry)."""
    return float(np.max(np.abs(arr))) if arr.size else 0.0
