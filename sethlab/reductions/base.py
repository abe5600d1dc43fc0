"""What a reduction predicts and how a decision is read off with a margin (docs/decision.md, docs/design.md "Reduction").

A `Prediction` is stated before anything is solved; a `Decision` compares the
measured decisive quantity with the threshold and calls the answer only when
the margin |quantity − threshold| exceeds the certified error of the quantity.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sethlab.attention.rounding import gamma, upper


@dataclass(frozen=True)
class Prediction:
    """Figures a reduction commits to for one source instance (docs/decision.md).

    `yes_range` / `no_range` bound the decisive quantity on YES / NO instances;
    `threshold` lies between them; `accuracy` is the oracle accuracy ε the
    decision needs (entrywise); `calls` the number of oracle calls.
    """

    sizes: dict
    entry_bound: float
    quantity: str
    threshold: float
    yes_range: tuple[float, float]
    no_range: tuple[float, float]
    accuracy: float
    calls: int = 1
    notes: dict = field(default_factory=dict)

    @property
    def separated(self) -> bool:
        """Whether the YES and NO ranges are disjoint with the threshold strictly between them."""
        return self.no_range[1] < self.threshold < self.yes_range[0] or self.yes_range[1] < self.threshold < self.no_range[0]

    @property
    def yes_above(self) -> bool:
        """True when YES instances lie above the threshold."""
        return self.yes_range[0] >= self.no_range[1]

    @property
    def gap(self) -> float:
        """Half the distance between the ranges: the margin a perfect measurement has at least."""
        if self.yes_above:
            return (self.yes_range[0] - self.no_range[1]) / 2
        return (self.no_range[0] - self.yes_range[1]) / 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Image:
    """A reduction's output for one source instance: the target and its prediction."""

    target: Any
    prediction: Prediction
    source_sizes: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """An answer read off a measured quantity: `answer` is None when inconclusive (docs/decision.md).

    `margin` = |quantity − threshold|; `error` = certified error of the quantity
    (oracle bound + floating point + quadrature); conclusive iff margin > error.
    `truth` is the source's exact answer where the caller knows it (`sethlab.decide`: the SAT
    solver's), and `stages` the per-step sizes, entry bounds and seconds of a composed reduction.
    """

    answer: bool | None
    quantity: float
    threshold: float
    margin: float
    error: float
    calls: int = 1
    reason: str = ""
    details: dict = field(default_factory=dict)
    truth: bool | None = None
    stages: list = field(default_factory=list)

    @property
    def conclusive(self) -> bool:
        return self.answer is not None

    @property
    def correct(self) -> bool:
        """Conclusive and equal to the known truth."""
        return self.answer is not None and self.answer == self.truth

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(conclusive=self.conclusive, correct=self.correct)
        return out


def decide_quantity(prediction: Prediction, quantity: float, error: float, calls: int = 1, **details) -> Decision:
    """Decide from a measured `quantity` with certified `error` (docs/decision.md).

    Conclusive only if the ranges are separated, the quantity is finite and
    |quantity − threshold| > error: then the true value is on the measured side.
    """
    thr = prediction.threshold
    margin = abs(quantity - thr) if math.isfinite(quantity) else 0.0
    if not prediction.separated:
        exact_gap = prediction.notes.get("exact_gap")
        why = "the predicted YES and NO ranges overlap"
        if exact_gap is not None and exact_gap > 0:
            why = f"the predicted ranges are {exact_gap:.3g} apart in exact arithmetic, below floating-point resolution"
        return Decision(None, quantity, thr, margin, error, calls, f"inconclusive: {why}", details)
    if not math.isfinite(quantity) or not math.isfinite(error):
        return Decision(None, quantity, thr, margin, error, calls, "inconclusive: non-finite quantity or error", details)
    if margin <= error:
        return Decision(None, quantity, thr, margin, error, calls,
                        f"inconclusive: margin {margin:.3g} <= certified error {error:.3g}", details)
    above = quantity > thr
    answer = above if prediction.yes_above else not above
    return Decision(answer, quantity, thr, margin, error, calls,
                    f"{'YES' if answer else 'NO'}: margin {margin:.3g} > error {error:.3g}", details)


class Reduction:
    """A reduction between two registered problems (docs/design.md "Reduction").

    Many-one reductions implement `apply`, `decide` and `overhead`, and get
    `solve` for free; Turing reductions (`turing = True`) implement `solve(x, oracle)`.
    Witness maps are optional: `forward_witness(image, source_witness)` gives the
    target's witness, `backward_witness(image, target_solution)` the source's
    (`target_solution`: the target witness, or the result for attention targets).
    """

    name = ""
    source = ""
    target = ""
    turing = False
    takes_image = False  # a Turing step that consumes the previous step's Image (and its prediction)
    needs_quantity: str | None = None  # a quantity the previous step must decide by

    def overhead(self, size: dict) -> dict:
        """Predicted target sizes as a function of the source size (the graph's edge formula)."""
        raise NotImplementedError

    def apply(self, x) -> Image:
        raise NotImplementedError

    def decide(self, image: Image, result) -> Decision:
        raise NotImplementedError

    def solve_target(self, image: Image, **options):
        """Solve the target exactly (decision problems) or with a backend (`options`: method, backend, …).

        A poly request without eps gets the accuracy the prediction needs.
        """
        from sethlab.reductions.problems import get_problem

        prob = get_problem(self.target)
        if prob.decision:
            return prob.solve(image.target)
        options = {k: v for k, v in options.items() if v is not None}
        if options.get("method") == "poly" and "eps" not in options:
            options["eps"] = image.prediction.accuracy
        return prob.solve(image.target, **options)

    def solve(self, x, oracle=None, **options) -> Decision:
        """apply, solve the target (with `oracle` if given), decide."""
        image = self.apply(x)
        result = oracle(image.target) if oracle is not None else self.solve_target(image, **options)
        return self.decide(image, result)

    def forward_witness(self, image: Image, witness):
        return None

    def backward_witness(self, image: Image, solution):
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {self.source} -> {self.target}>"


def attention_quantity(output, quantity: str, output_error: float) -> tuple[float, float]:
    """(max_i T_i or ‖T‖_F², certified error) of an nq×1 attention output T within output_error entrywise.

    max is exact. For ‖T‖_F²: |Σ T̂² − Σ T²| <= Σ |T̂ − T|·|T̂ + T| <= nq·e·(2 max|T̂| + e), and the
    computed sum of squares is within γ_nq of Σ T̂² (docs/rounding.md, "Decisions").
    """
    T = np.asarray(output, dtype=np.float64)[:, 0]
    if quantity == "max":
        return float(T.max()), float(output_error)
    q = float(np.sum(T * T))
    nq = T.size
    g = gamma(nq, 2.0**-53)
    err = nq * output_error * (2 * float(np.abs(T).max()) + output_error) + g / (1 - g) * q
    return q, upper(err, 16)


def decide_answer(prediction: Prediction, answer) -> Decision:
    """Decision from an exact decision solver's Answer: the quantity is 1 for YES, 0 for NO, no error."""
    q = 1.0 if answer.yes else 0.0
    return decide_quantity(prediction, q, 0.0, 1, witness=answer.witness)


def answer_prediction(sizes: dict, entry_bound: float | None = 1.0, **notes) -> Prediction:
    """The prediction of a reduction between decision problems: the answer carries over (1 = YES, 0 = NO)."""
    return Prediction(sizes=sizes, entry_bound=entry_bound, quantity="answer", threshold=0.5,
                      yes_range=(1.0, 1.0), no_range=(0.0, 0.0), accuracy=0.0, calls=1, notes=notes)
