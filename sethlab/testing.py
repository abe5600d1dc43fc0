"""Hypothesis strategies for every source problem, and a pytest helper to check a reduction (docs/design.md, "Verifier").

    from sethlab.testing import ov_instances, assert_reduction
    assert_reduction(my_reduction, ov_instances(max_n=10), trials=50)

Strategies are small and composable (hypothesis style) and shrink toward
small instances, so a failing check reports a minimal counterexample; they live
in `sethlab.strategies` and are re-exported here.
"""

from __future__ import annotations

from sethlab.reductions.attention_to_gradient import attention_images  # noqa: F401  (re-exported)
from sethlab.reductions.problems import get_problem
from sethlab.reductions.verify import check
from sethlab.strategies import (  # noqa: F401  (re-exported)
    attention_instances,
    binary_rows,
    clause_lists,
    cnfs,
    dense_rows,
    gap_hamming_instances,
    gradient_instances,
    kov_instances,
    ov_instances,
)


def strategy_for(problem: str, **kwargs):
    """The default strategy of a problem (its record's `strategy`)."""
    return get_problem(problem).default_strategy(**kwargs)


def assert_reduction(reduction, instances=None, *, trials: int = 30, seed: int = 0, **options):
    """Check a reduction inside pytest: raise AssertionError with the report and the smallest counterexample."""
    report = check(reduction, instances, trials=trials, seed=seed, **options)
    if not report.ok:
        raise AssertionError(report.summary())
    return report
