"""CNF-SAT → OV by split and list (Williams 2005; MATH.md 4.1).

Variables ``1..n1`` (``n1 = ⌈N/2⌉``) form ``X1``, the rest ``X2``. Row ``α`` of
``A`` is the assignment of ``X1`` whose bit ``k`` sets variable ``k+1``; row
``β`` of ``B`` sets variable ``n1+k+1`` from bit ``k``. ``A[α, c] = 1`` iff ``α``
makes no literal of clause ``c`` true, so ``<A[α], B[β]> = 0`` iff ``α ∪ β``
satisfies the formula. Built clause by clause over all ``2^{n1}`` rows at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sethlab.cnf import as_cnf
from sethlab.errors import InvalidInstance
from sethlab.instances import OVInstance
from sethlab.memory import require
from sethlab.solvers.sat import assignment_values

__all__ = ["SatToOVImage", "sat_to_ov", "half_vectors", "forward_witness", "backward_witness"]

MAX_HALF_VARS = 26  # 2^26 rows per side is the most this vectorized build attempts


@dataclass(frozen=True, eq=False)
class SatToOVImage:
    """The OV image of a formula and the split that produced it."""

    instance: OVInstance
    nvars: int          # N
    left_vars: int      # n1 = ⌈N/2⌉: variables 1..n1 index the rows of A
    clauses: tuple      # the source clauses, in column order

    @property
    def right_vars(self) -> int:
        return self.nvars - self.left_vars


def half_vectors(clauses, first_var: int, nvars: int) -> np.ndarray:
    """The ``2^nvars × m`` 0/1 matrix for the variables ``first_var .. first_var+nvars−1``."""
    if nvars > MAX_HALF_VARS:
        raise InvalidInstance(f"formula: {nvars} variables on one side exceed the limit {MAX_HALF_VARS}")
    rows = np.arange(1 << nvars, dtype=np.int64)
    out = np.ones((len(clauses), rows.shape[0]), dtype=np.uint8)  # column c of the result = row c here
    bit_cache: dict[int, np.ndarray] = {}
    for c, clause in enumerate(clauses):
        col = out[c]
        for lit in clause:
            k = abs(lit) - first_var
            if not 0 <= k < nvars:
                continue  # a literal of the other half is not set by this half
            bits = bit_cache.get(k)
            if bits is None:
                bits = bit_cache[k] = ((rows >> k) & 1).astype(np.uint8)
            col &= (1 - bits) if lit > 0 else bits  # stays 1 only where the literal is false
    return np.ascontiguousarray(out.T)


def image_bytes(nvars: int, nclauses: int) -> float:
    """Peak bytes of building the OV image of a formula with N variables and m clauses (inf past 2^62 rows).

    Both finished sides (2^{⌈N/2⌉} and 2^{⌊N/2⌋} rows of m bytes) and, while a side is built, its
    transposed copy, its row indices (8 bytes a row) and the bit columns of its variables.
    """
    n1 = (nvars + 1) // 2
    if n1 > 62:
        return math.inf
    rows_a, rows_b = 2**n1, 2 ** (nvars - n1)
    m = max(nclauses, 1)
    return float((rows_a + rows_b) * m + rows_a * (m + 8 + n1))


def describe_image(nvars: int, nclauses: int) -> str:
    """'2^25 + 2^25 vectors of dimension 213' for the split of a formula with N variables."""
    n1 = (nvars + 1) // 2
    return f"2^{n1} + 2^{nvars - n1} vectors of dimension {nclauses}"


def sat_to_ov(formula, memory_budget=None) -> SatToOVImage:
    """Apply the reduction: a formula (CNF, clause list or DIMACS path) → ``SatToOVImage``.

    The image is exponential in N: its size is planned from the formula first and refused, with
    the sizes, beyond the memory budget (sethlab.memory).
    """
    cnf = as_cnf(formula)
    n = cnf.nv
    n1 = (n + 1) // 2
    require(image_bytes(n, len(cnf.clauses)),
            f"the SAT -> OV image of a formula with N = {n} variables and m = {len(cnf.clauses)} clauses "
            f"({describe_image(n, len(cnf.clauses))})", memory_budget,
            hint="split-and-list is exponential in N: about 40 variables fit in a few GiB")
    clauses = tuple(tuple(c) for c in cnf.clauses)
    A = half_vectors(clauses, 1, n1)
    B = half_vectors(clauses, n1 + 1, n - n1)
    return SatToOVImage(OVInstance(A, B), n, n1, clauses)


def _satisfied(image: SatToOVImage, value: list[bool]) -> int | None:
    """Index of the first clause ``value`` falsifies, or None."""
    for c, clause in enumerate(image.clauses):
        if not any(value[abs(l)] == (l > 0) for l in clause):
            return c
    return None


def forward_witness(image: SatToOVImage, assignment) -> tuple[int, int]:
    """A satisfying assignment (signed literals or ``{var: bool}``) → its orthogonal pair."""
    value = assignment_values(assignment, image.nvars)
    bad = _satisfied(image, value)
    if bad is not None:
        raise InvalidInstance(f"assignment: does not satisfy clause {bad + 1} {list(image.clauses[bad])}")
    n1 = image.left_vars
    i = sum(1 << (v - 1) for v in range(1, n1 + 1) if value[v])
    j = sum(1 << (v - n1 - 1) for v in range(n1 + 1, image.nvars + 1) if value[v])
    return i, j


def backward_witness(image: SatToOVImage, pair) -> tuple[int, ...]:
    """An orthogonal pair ``(i, j)`` → the satisfying assignment, as ``N`` signed literals."""
    i, j = (int(x) for x in pair)
    inst = image.instance
    if not (0 <= i < inst.nA and 0 <= j < inst.nB):
        raise InvalidInstance(f"pair: ({i}, {j}) out of range for sides of {inst.nA} and {inst.nB}")
    if int(inst.A[i].astype(np.int64) @ inst.B[j]) != 0:
        raise InvalidInstance(f"pair: ({i}, {j}) is not orthogonal")
    n1 = image.left_vars
    bits = [(i >> k) & 1 for k in range(n1)] + [(j >> k) & 1 for k in range(image.right_vars)]
    return tuple(v if bits[v - 1] else -v for v in range(1, image.nvars + 1))


from sethlab.reductions.base import Decision, Image, Reduction, answer_prediction, decide_answer  # noqa: E402


class SatToOV(Reduction):
    """CNF-SAT → OV by split and list as a registered reduction (MATH.md 4.1)."""

    name = "sat-to-ov"
    source = "cnf-sat"
    target = "ov"

    def overhead(self, size: dict) -> dict:
        n1 = (size["N"] + 1) // 2
        return {"nA": 2**n1, "nB": 2 ** (size["N"] - n1), "d": size["m"]}

    def apply(self, x) -> Image:
        image = sat_to_ov(x)
        ov = image.instance
        pred = answer_prediction({"nA": ov.nA, "nB": ov.nB, "d": ov.d}, 1.0)
        return Image(ov, pred, source_sizes={"N": image.nvars, "m": len(image.clauses)}, meta={"split": image})

    def decide(self, image: Image, result) -> Decision:
        return decide_answer(image.prediction, result)

    def forward_witness(self, image: Image, witness):
        return forward_witness(image.meta["split"], witness)

    def backward_witness(self, image: Image, solution):
        return None if solution is None else backward_witness(image.meta["split"], solution)

