"""The verifier itself: every registered reduction passes, reports are complete, executors agree."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import sethlab
from sethlab.executors import get_executor
from sethlab.generators.ov import no_pair_ov, planted_ov
from sethlab.reductions import get, names, path
from sethlab.reductions.verify import CHECKS, check, verify_command
from sethlab.testing import assert_reduction, ov_instances


@pytest.mark.parametrize("name", names())
def test_every_registered_reduction_passes(name):
    report = check(name, trials=12, seed=1)
    assert report.ok, report.summary()
    counts = report.counts
    assert counts["well-formed"]["pass"] == len(report.rows) == 12
    assert set(counts) <= set(CHECKS)
    json.loads(report.to_json())  # JSON-serializable


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
    report = check("hamming-to-attention-tuned", [outside])
    assert report.ok and report.counts["well-formed"]["skip"] == 1
    assert "promise violated" in report.rows[0].messages[0]


def test_failures_are_shrunk():
    import sys, os

    sys.path.insert(0, os.path.dirname(__file__))
    from test_mutations import BetaTooSmall

    report = check(BetaTooSmall(), trials=60, seed=0)
    assert not report.ok
    assert report.counterexample.source_size == {"nA": 1, "nB": 1, "d": 1}  # the minimal NO instance
    assert len(report.rows) == report.trials_to_first_failure  # the sample stops at the first failure
