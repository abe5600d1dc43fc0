"""Split and list (Williams 2005), shared by CNF-SAT → OV (k = 2) and CNF-SAT → k-OV (docs/reductions.md §4.1).

The N variables are split into k consecutive parts (the first N mod k parts one larger). For each
assignment α of a part, vector a_α ∈ {0,1}^m has a_α[c] = 1 iff α sets no literal of clause c true
(literals of other parts count as not set). A k-tuple, one vector per part, has a zero product in
every coordinate iff every clause is satisfied by some part: iff the union satisfies the formula.
Row α of a part's list is the assignment whose bit b sets the part's (b+1)-th variable.
"""

from __future__ import annotations

import math

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.solvers.sat import assignment_values

MAX_PART_VARS = 26  # 2^26 rows per part is the most the vectorized build attempts


def parts(nvars: int, k: int) -> list[tuple[int, int]]:
    """(first variable, variable count) of each of the k parts; the first N mod k parts are one larger."""
    q, r = divmod(nvars, k)
    out, first = [], 1
    for i in range(k):
        count = q + (1 if i < r else 0)
        out.append((first, count))
        first += count
    return out


def part_vectors(clauses, first_var: int, nvars: int) -> np.ndarray:
    """The 2^nvars × m 0/1 matrix of the variables first_var .. first_var + nvars − 1."""
    if nvars > MAX_PART_VARS:
        raise InvalidInstance(f"formula: {nvars} variables in one part exceed the limit {MAX_PART_VARS}")
    rows = np.arange(1 << nvars, dtype=np.int64)
    out = np.ones((len(clauses), rows.shape[0]), dtype=np.uint8)  # column c of the result = row c here
    bit_cache: dict[int, np.ndarray] = {}
    for c, clause in enumerate(clauses):
        col = out[c]
        for lit in clause:
            b = abs(lit) - first_var
            if not 0 <= b < nvars:
                continue  # a literal of another part is not set by this part
            bits = bit_cache.get(b)
            if bits is None:
                bits = bit_cache[b] = ((rows >> b) & 1).astype(np.uint8)
            col &= (1 - bits) if lit > 0 else bits  # stays 1 only where the literal is false
    return np.ascontiguousarray(out.T)


def image_bytes(nvars: int, nclauses: int, k: int) -> float:
    """Peak bytes of building all k lists (inf past 2^62 rows): the finished lists and, while the
    largest part is built, its transposed copy, its row indices and the bit columns of its variables."""
    counts = [c for _, c in parts(nvars, k)]
    if max(counts, default=0) > 62:
        return math.inf
    m = max(nclauses, 1)
    largest = 2 ** max(counts, default=0)
    return float(sum(2**c for c in counts) * m + largest * (m + 8 + max(counts, default=0)))


def describe(nvars: int, nclauses: int, k: int) -> str:
    """'2^25 + 2^25 vectors of dimension 213'."""
    return " + ".join(f"2^{c}" for _, c in parts(nvars, k)) + f" vectors of dimension {nclauses}"


def indices_of(clauses, nvars: int, k: int, assignment) -> tuple[int, ...]:
    """A satisfying assignment (signed literals or {var: bool}) → the index of its restriction in each list."""
    value = assignment_values(assignment, nvars)
    for c, clause in enumerate(clauses):
        if not any(value[abs(l)] == (l > 0) for l in clause):
            raise InvalidInstance(f"assignment: does not satisfy clause {c + 1} {list(clause)}")
    return tuple(sum(1 << b for b in range(count) if value[first + b]) for first, count in parts(nvars, k))


def assignment_of(nvars: int, k: int, indices) -> tuple[int, ...]:
    """Row indices, one per list → the assignment as N signed literals."""
    bits = []
    for (first, count), i in zip(parts(nvars, k), indices):
        bits += [(int(i) >> b) & 1 for b in range(count)]
    return tuple(v if bits[v - 1] else -v for v in range(1, nvars + 1))
