"""Shared helpers of the generator families: seeded RNGs, parameter checks, CNF shuffling."""

from __future__ import annotations

import numbers

import numpy as np
from pysat.formula import CNF

from sethlab.errors import InvalidInstance
from sethlab.memory import require

# A clause as Python lists while it is built, copied and shuffled: about three copies of a list
# (56 bytes + 8 a literal) and its int objects (28 bytes a literal).
CLAUSE_BYTES = 3 * 64
LITERAL_BYTES = 3 * 40


def plan_cnf(n_clauses, n_literals, what: str) -> None:
    """Refuse, before building it, a formula whose clause lists exceed the memory budget (sethlab.memory)."""
    require(CLAUSE_BYTES * n_clauses + LITERAL_BYTES * n_literals,
            f"{what} ({n_clauses} clauses, {n_literals} literals)")


def plan_arrays(nbytes, what: str) -> None:
    """Refuse, before drawing it, an instance whose arrays exceed the memory budget."""
    require(nbytes, what)


def rng_for(seed) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``; a seed must be None or a nonnegative int (docs/design.md "Conventions")."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise InvalidInstance(f"seed: must be None or a nonnegative integer, got {seed!r}")
    return np.random.default_rng(None if seed is None else int(seed))


def check_int(value, name: str, low: int, high: int | None = None) -> int:
    """An integer parameter in ``[low, high]``, or ``InvalidInstance`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInstance(f"{name}: must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InvalidInstance(f"{name}: must be {bound}, got {value}")
    return value


def check_prob(value, name: str, open_low: bool = True) -> float:
    """A probability in ``(0, 1]`` (or ``[0, 1]`` with ``open_low=False``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInstance(f"{name}: must be a number, got {value!r}")
    value = float(value)
    if not (0.0 < value <= 1.0 if open_low else 0.0 <= value <= 1.0):
        raise InvalidInstance(f"{name}: must be in {'(0, 1]' if open_low else '[0, 1]'}, got {value}")
    return value


def graph_seed(rng: np.random.Generator) -> int:
    """An int seed for networkx, drawn from ``rng`` so one ``seed`` fixes the whole output."""
    return int(rng.integers(0, 2**31 - 1))


def make_cnf(clauses, nv: int) -> CNF:
    cnf = CNF(from_clauses=[[int(l) for l in c] for c in clauses])
    cnf.nv = nv
    return cnf


def shuffle_cnf(cnf: CNF, rng: np.random.Generator) -> CNF:
    """Rename variables, flip no signs, and permute clauses and literals (CNFgen-style shuffle)."""
    n = cnf.nv
    rename = np.concatenate([[0], rng.permutation(n) + 1])
    order = rng.permutation(len(cnf.clauses))
    clauses = []
    for c in order:
        clause = cnf.clauses[c]
        perm = rng.permutation(len(clause))
        clauses.append([int(np.sign(clause[p]) * rename[abs(clause[p])]) for p in perm])
    return make_cnf(clauses, n)
