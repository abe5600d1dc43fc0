"""What every fast-attention method of sethlab.approx shares (docs/approx.md): input checks in
sethlab's score convention ⟨q, k⟩/d, parameter checks, row-stable softmax, memory planning."""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from sethlab.attention import blocks
from sethlab.attention.instances import AttentionInstance
from sethlab.errors import InvalidInstance
from sethlab.memory import parse_budget, require


def as_instance(Q, K, V) -> AttentionInstance:
    """(Q, K, V) as a validated AttentionInstance (numpy, lists or torch tensors; float64)."""
    return Q if isinstance(Q, AttentionInstance) and K is None and V is None else AttentionInstance(Q, K, V)


def positive_int(value, name: str, low: int = 1, high: int | None = None) -> int:
    """An integer parameter in [low, high] (numpy integers too, never bool), or InvalidInstance naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or \
            (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidInstance(f"{name}: must be an integer {bound}, got {value!r}")
    return int(value)


def positive_float(value, name: str, allow_inf: bool = False) -> float:
    """A positive real parameter (inf only where allowed), or InvalidInstance naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInstance(f"{name}: must be a positive number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not (x > 0) or (math.isinf(x) and not allow_inf):
        raise InvalidInstance(f"{name}: must be a positive {'' if allow_inf else 'finite '}number, got {value!r}")
    return x


def flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInstance(f"{name}: must be true or false, got {value!r}")
    return bool(value)


def seed_value(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise InvalidInstance(f"seed: must be None or a nonnegative integer, got {seed!r}")
    return None if seed is None else int(seed)


def budget(memory_budget):
    """A memory_budget parameter checked now (sethlab.memory syntax); returned as given."""
    if memory_budget is not None:
        parse_budget(memory_budget)
    return memory_budget


def plan(nbytes: float, what: str, memory_budget=None) -> None:
    """Refuse before allocating what exceeds the memory budget (sethlab.memory)."""
    require(float(min(nbytes, 1e300)), what, memory_budget)


def softmax_rows(s: np.ndarray) -> np.ndarray:
    """Row softmax of a score matrix, with the row maximum subtracted first (in place)."""
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    return s


def row_blocks(n: int, ncols: int, target: int = 1 << 22):
    """Row ranges of about `target` elements (≥ 1 row), for passes that must not form n × ncols at once."""
    return list(blocks.row_blocks(n, max(1, target // max(ncols, 1))))


def scaled(inst: AttentionInstance) -> tuple[np.ndarray, np.ndarray]:
    """Q/√d, K/√d: their plain inner product is sethlab's score ⟨q, k⟩/d (what kernel methods written
    for exp(qᵀk) must be fed; papers written for exp(qᵀk/√d) feed q/d^{1/4} instead)."""
    c = 1.0 / math.sqrt(inst.d)
    return inst.Q * c, inst.K * c


def checked(check):
    """Decorate a method so `method.check(**params)` validates its parameters without running it, and the
    method itself validates them the same way before any work."""

    def wrap(fn):
        @functools.wraps(fn)
        def method(Q, K=None, V=None, **params):
            return fn(Q, K, V, **check(**params))

        method.check = check
        return method

    return wrap
