"""The verifier itself: every registered reduction passes, reports are complete, executors agree."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

import sethlab
from sethlab.executors import get_executor
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.reductions import get, names, path
from sethlab.app.verify import verify_command
from sethlab.reductions.verify import CHECKS, check
from sethlab.testing import assert_reduction, ov_instances


ZERO = "hamming-to-attention-zero"


@pytest.mark.parametrize("name", [n for n in names() if n != ZERO])
def test_every_registered_reduction_passes(name):
    report = check(name, trials=12, seed=1)
    assert report.ok, report.summary()
    counts = report.counts
    assert counts["well-formed"]["pass"] == len(report.rows) == 12
    assert len(report.conclusive) >= 0.5 * len(report.checked) > 0
    assert set(counts) <= set(CHECKS)
    json.loads(report.to_json())  # JSON-serializable


def test_the_papers_zero_anchors_cannot_be_verified_in_floating_point():
    # AS23's zero anchors: near and far outputs differ below float64 resolution on most instances (docs/reductions.md §5.2).
    # No answer is wrong, but most are inconclusive, so the report fails instead of passing on nothing.
    report = check(ZERO, trials=20, seed=1)
    assert all(r.ok for r in report.rows) and not report.ok
    assert len(report.conclusive) < 0.5 * len(report.checked)
    assert "conclusive" in report.problem and "conclusive" in report.summary()
    assert check(ZERO, trials=20, seed=1, min_conclusive=0.0).ok  # a caller may lower the share ...
    assert not check(ZERO, [], min_conclusive=0.0).ok  # ... but never below one decided instance

def test_composed_paths_pass():
    for src, dst in [("cnf-sat", "attention"), ("cnf-sat", "hamming-close-pair")]:
        report = check(path(src, dst), trials=8, seed=2)
        assert report.ok, report.summary()
        assert report.counts["backward-witness"]["fail"] == 0


def test_report_counts_yes_and_no():
    report = check("ov-to-attention", trials=40, seed=3)
    assert report.counts["yes-to-yes"]["pass"] > 0 and report.counts["no-to-no"]["pass"] > 0


def test_explicit_instances_in_parallel_match_serial():
    items = [planted_ov(20, 8, seed=s)[0] for s in range(3)] + [no_pair_ov(20, 8, seed=s) for s in range(3)]
    serial = check("ov-to-attention", items, workers=1)
    parallel = check("ov-to-attention", items, workers=2)
    threads = check("ov-to-attention", items, workers=ThreadPoolExecutor(2))
    for rep in (serial, parallel, threads):
        assert rep.ok and [r.truth for r in rep.rows] == [True] * 3 + [False] * 3
    assert [r.quantity for r in serial.rows] == [r.quantity for r in parallel.rows] == [r.quantity for r in threads.rows]


class FakeDask:
    """The two methods sethlab uses of a dask.distributed Client."""

    def map(self, fn, items, pure=True):
        return [fn(x) for x in items]

    def gather(self, futures):
        return list(futures)


class FakeRay:
    """The two functions sethlab uses of the ray module."""

    class _Remote:
        def __init__(self, fn):
            self.fn = fn

        def remote(self, x):
            return self.fn(x)

    def remote(self, fn):
        return self._Remote(fn)

    def get(self, refs):
        return list(refs)


def test_executor_interface():
    for workers in (FakeDask(), FakeRay(), ThreadPoolExecutor(2), 1, 2):
        assert get_executor(workers).map(abs, [-1, 2, -3]) == [1, 2, 3]
    for bad in (0, -2, True, "many"):
        with pytest.raises(sethlab.InvalidInstance, match="workers"):
            get_executor(bad)


def test_verify_command_text_and_json(capsys):
    assert verify_command(["ov-to-hamming"], trials=5, seed=0) == 0
    text = capsys.readouterr().out
    assert "ov-to-hamming: OK" in text and "1 of 1 reductions passed" in text
    assert verify_command(["ov-to-hamming"], trials=5, seed=0, as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["reports"][0]["reduction"] == "ov-to-hamming"
    with pytest.raises(sethlab.InvalidInstance, match="unknown"):
        verify_command(["no-such-reduction"])


def test_assert_reduction_helper():
    assert_reduction(get("ov-to-attention"), ov_instances(max_n=6), trials=10)

    class Broken(type(get("ov-to-attention"))):
        name = "broken"

        def apply(self, x):
            image = super().apply(x)
            t = image.target
            return type(image)(type(t)(t.Q, t.K, 1 - t.V), image.prediction, image.source_sizes, image.meta)

    with pytest.raises(AssertionError, match="counterexample"):
        assert_reduction(Broken(), ov_instances(max_n=6), trials=20)


def test_bad_trials_and_names():
    with pytest.raises(sethlab.InvalidInstance, match="trials"):
        check("ov-to-hamming", trials=0)
    with pytest.raises(sethlab.InvalidInstance, match="unknown"):
        get("nonsense")
    with pytest.raises(sethlab.InvalidInstance, match="no chain"):
        path("attention-gradient", "cnf-sat")


def test_strategy_errors_surface_and_promise_violations_are_skipped():
    from hypothesis import strategies as st

    from sethlab.instances import HammingInstance, OVInstance

    broken = st.integers(0, 5).map(lambda k: OVInstance([[1, 1]], [[1, 1]]) if k < 3 else 1 / 0)
    with pytest.raises(ZeroDivisionError):
        check("ov-to-attention", broken, trials=10)
    outside = HammingInstance([[1, 0, 0, 0, 0, 0]], [[0] * 6], 1, 1.0)  # distance 1: neither < t nor >= far
    inside = HammingInstance([[1, 0, 0, 0, 0, 0]], [[1, 0, 0, 0, 0, 0]], 1, 1.0)
    report = check("hamming-to-attention-tuned", [outside, inside])
    assert report.ok and report.counts["promise"]["skip"] == 1 and len(report.checked) == 1
    assert "promise" in report.rows[0].messages[0] and report.rows[0].skipped
    alone = check("hamming-to-attention-tuned", [outside])
    assert not alone.ok and "skipped" in alone.problem  # skipping everything verifies nothing


# ------------------------------------------------------------------ a check never passes on nothing


def test_no_instances_fail():
    from hypothesis import strategies as st

    for instances in ([], [None], st.just(None)):
        report = check("ov-to-attention", instances, trials=5)
        assert not report.ok, instances
    with pytest.raises(AssertionError, match="nothing was verified"):
        assert_reduction(get("ov-to-attention"), [])
    with pytest.raises(AssertionError, match="source"):
        assert_reduction(get("ov-to-attention"), [None])


def test_a_bad_source_is_a_failing_row_with_its_traceback():
    report = check("sat-to-ov", [[[1, 0, 2]]])  # the literal 0 is not DIMACS: not a promise violation
    row = report.rows[0]
    assert not report.ok and row.checks["source"] == "fail" and "Traceback" in row.traceback
    assert "traceback" in report.rows[0].to_dict()


class _Inconclusive(type(get("ov-to-attention"))):
    name = "always-inconclusive"

    def decide(self, image, result):
        from sethlab.reductions.base import decide_quantity

        return decide_quantity(image.prediction, image.prediction.threshold, 1.0)


class _RaisingOverhead(type(get("ov-to-attention"))):
    name = "raising-overhead"

    def overhead(self, size):
        raise RuntimeError("overhead exploded")


class _RaisingDecide(type(get("ov-to-attention"))):
    name = "raising-decide"

    def decide(self, image, result):
        raise KeyError("decide exploded")


def test_all_inconclusive_fails_and_exceptions_are_failing_rows():
    items = [planted_ov(6, 5, seed=s)[0] for s in range(4)]
    report = check(_Inconclusive(), items)
    assert all(r.ok for r in report.rows) and not report.ok and "none of the 4" in report.problem
    for red, name, text in ((_RaisingOverhead(), "overhead", "overhead exploded"),
                            (_RaisingDecide(), "runs", "decide exploded")):
        report = check(red, items)  # no exception escapes: each row fails with the message
        assert not report.ok and all(r.checks[name] == "fail" for r in report.rows)
        assert text in report.summary() and report.counterexample.traceback


def test_a_turing_step_that_refuses_is_inconclusive_not_failed():
    from sethlab.reductions.attention_to_gradient import AttentionToGradient
    from sethlab.reductions.hamming_to_attention import HammingToAttention
    from sethlab.reductions.registry import ComposedReduction
    from sethlab.testing import gap_hamming_instances

    chain = ComposedReduction([HammingToAttention("zero"), AttentionToGradient()])
    report = check(chain, gap_hamming_instances(max_n=6, d_range=(30, 40), t_range=(3, 4)), trials=6, seed=0)
    refused = [r for r in report.rows if r.checks.get("range") == "skip"]
    assert refused and all(r.ok and r.calls == 0 and r.inconclusive for r in refused)


def test_min_conclusive_is_validated():
    for bad in (-0.1, 1.5, True, "half"):
        with pytest.raises(sethlab.InvalidInstance, match="min_conclusive"):
            check("ov-to-attention", trials=2, min_conclusive=bad)


def test_failures_are_shrunk():
    import sys, os

    sys.path.insert(0, os.path.dirname(__file__))
    from test_mutations import BetaTooSmall

    report = check(BetaTooSmall(), trials=60, seed=0)
    assert not report.ok
    assert report.counterexample.source_size == {"nA": 1, "nB": 1, "d": 1}  # the minimal NO instance
    assert len(report.rows) == report.trials_to_first_failure  # the sample stops at the first failure
