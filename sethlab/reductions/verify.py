"""Hold a reduction to its predictions (docs/decision.md): Karp-style checks, prediction checks, counterexamples.

`check(reduction, instances or a hypothesis strategy, ...)` applies the reduction
to each source instance, solves the source exactly and the target with the
chosen backend (or oracle), and checks: the target is well formed; sizes equal
the prediction and the graph's overhead formula; entries within the predicted
B; YES → YES and NO → NO; the decisive quantity inside the predicted range;
oracle calls as predicted; margin above the error (else *inconclusive*); witness
maps both ways. With a strategy, a failure is shrunk by hypothesis to a small
counterexample.

A check can never pass on nothing: only sources outside the promise their problem
declares are skipped; any other fault in the source, the reduction or its decision
is a failing row with its traceback; and a report passes only if at least one
instance, and at least `min_conclusive` of the checked ones (default 1/2), got a
conclusive answer (docs/decision.md).
"""

from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from sethlab.errors import InvalidInstance
from sethlab.jsonable import jsonable
from sethlab.reductions.base import Image, Reduction

CHECKS = ("source", "promise", "well-formed", "sizes", "overhead", "entry-bound", "yes-to-yes", "no-to-no", "range",
          "calls", "margin", "forward-witness", "backward-witness", "runs")
# A report passes only if at least this share of its checked (not skipped) instances was decided.
MIN_CONCLUSIVE = 0.5
PASS, FAIL, SKIP, INCONCLUSIVE = "pass", "fail", "skip", "inconclusive"


@dataclass
class Row:
    """The checks of one source instance."""

    index: int
    source_size: dict
    truth: bool | None = None
    answer: bool | None = None
    quantity: float | None = None
    margin: float | None = None
    error: float | None = None
    calls: int | None = None
    checks: dict = field(default_factory=dict)
    messages: list = field(default_factory=list)
    traceback: str | None = None
    instance: object = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return FAIL not in self.checks.values()

    @property
    def skipped(self) -> bool:
        """The source lies outside its problem's promise: nothing about the reduction was checked."""
        return self.checks.get("promise") == SKIP

    @property
    def inconclusive(self) -> bool:
        return INCONCLUSIVE in self.checks.values()

    @property
    def conclusive(self) -> bool:
        """Checked, without failure, and answered (the margin exceeded the certified error)."""
        return self.ok and not self.skipped and self.answer is not None

    def mark(self, name: str, status: str, message: str = "") -> None:
        self.checks[name] = status
        if status == FAIL and message:
            self.messages.append(f"{name}: {message}")

    def fail(self, name: str, exc: BaseException) -> None:
        """A failing check caused by an exception: its message and its traceback are kept."""
        self.mark(name, FAIL, f"{type(exc).__name__}: {exc}")
        self.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "instance"}
        out["ok"] = self.ok
        return jsonable(out)


def describe(x) -> dict:
    """A JSON-friendly description of a source instance (small arrays in full)."""
    if isinstance(x, Image):
        return {"image_of": describe(x.meta.get("source")), "target": describe(x.target)}
    if hasattr(x, "clauses"):
        return {"nv": int(x.nv), "clauses": [list(c) for c in x.clauses]}
    out = {"type": type(x).__name__}
    for name in ("A", "B", "Q", "K", "V", "A1", "A2", "A3", "E", "X", "Y"):
        arr = getattr(x, name, None)
        if isinstance(arr, np.ndarray):
            out[name] = arr.tolist() if arr.size <= 400 else f"array{arr.shape}"
    for name in ("t", "gap"):
        if hasattr(x, name):
            out[name] = getattr(x, name)
    return out


def _overrides(obj, method: str) -> bool:
    steps = getattr(obj, "steps", None)
    if steps is not None:
        return all(_overrides(s, method) for s in steps)
    return getattr(type(obj), method) is not getattr(Reduction, method)


def _source_truth(reduction, x):
    """(truth, source witness) from the exact solver of the source problem."""
    from sethlab.reductions.problems import get_problem

    if isinstance(x, Image):  # an image handed to a Turing step: the truth is its own source's
        src = x.meta.get("source")
        for name in ("ov", "hamming-close-pair"):
            prob = get_problem(name)
            if src is not None and isinstance(src, prob.instance_type):
                ans = prob.solve(src)
                return ans.yes, ans.witness
        raise InvalidInstance("instance: an image without its source instance cannot be checked")
    ans = get_problem(reduction.source).solve(x)
    return ans.yes, ans.witness


def _promise_violation(reduction, x) -> str | None:
    """Why the source breaks the promise its problem declares (the only reason a row is skipped)."""
    from sethlab.reductions.problems import get_problem

    if isinstance(x, Image):
        src = x.meta.get("source")
        for name in ("ov", "hamming-close-pair"):
            prob = get_problem(name)
            if src is not None and isinstance(src, prob.instance_type):
                return prob.promise_violation(src)
        return None
    problem = get_problem(reduction.source)
    problem.check_instance(x)
    return problem.promise_violation(x)


def _coerce(reduction, x):
    if reduction.source == "cnf-sat" and not hasattr(x, "clauses"):
        from sethlab.cnf import as_cnf

        return as_cnf(x)
    return x


def _source_size(reduction, x) -> dict:
    from sethlab.reductions.problems import get_problem

    if isinstance(x, Image):
        return get_problem("attention").size(x.target)
    return get_problem(reduction.source).size(x)


def check_one(reduction, x, index: int = 0, oracle=None, options: dict | None = None) -> Row:
    """Every check of docs/decision.md on one source instance."""
    from sethlab.reductions.problems import get_problem

    options = {k: v for k, v in (options or {}).items() if v is not None}
    row = Row(index, {}, instance=x)
    try:
        x = _coerce(reduction, x)
        row.instance = x
        row.source_size = _source_size(reduction, x)
        broken = _promise_violation(reduction, x)
    except Exception as exc:  # not an instance of the source problem: a fault of the input, reported
        row.fail("source", exc)
        return row
    if broken:
        row.mark("promise", SKIP)
        row.messages.append(f"skipped: the source breaks its problem's promise ({broken})")
        return row
    try:
        truth, src_witness = _source_truth(reduction, x)
        row.truth = truth
        row.mark("source", PASS)
    except Exception as exc:
        row.fail("source", exc)
        return row
    try:
        image = reduction.apply(x)
        target_prob = get_problem(reduction.target)
        target_prob.check_instance(image.target)
        row.mark("well-formed", PASS)
    except Exception as exc:
        row.fail("well-formed", exc)
        return row
    pred = image.prediction
    try:
        actual = target_prob.size(image.target)
        diff = {k: (v, actual.get(k)) for k, v in pred.sizes.items() if k in actual and actual[k] != v}
        row.mark("sizes", FAIL if diff else PASS, f"predicted vs actual {diff}")
    except Exception as exc:
        row.fail("sizes", exc)
        return row
    try:
        formula = reduction.overhead(dict(row.source_size))
        diff = {k: (v, actual.get(k)) for k, v in formula.items() if v is not None and k in actual and actual[k] != v}
        row.mark("overhead", FAIL if diff else PASS, f"overhead formula vs actual {diff}")
    except NotImplementedError:
        row.mark("overhead", SKIP)
    except Exception as exc:
        row.fail("overhead", exc)
    bound = getattr(image.target, "bound", None)
    if bound is not None and pred.entry_bound is not None:
        ok = bound <= pred.entry_bound * (1 + 1e-12) + 1e-300
        row.mark("entry-bound", PASS if ok else FAIL, f"entries reach {bound:.6g} > predicted B = {pred.entry_bound:.6g}")
    try:
        if reduction.turing:
            result = None
            decision = reduction.solve(x, oracle, **options)
        else:
            result = oracle(image.target) if oracle is not None else reduction.solve_target(image, **options)
            decision = reduction.decide(image, result)
    except Exception as exc:
        row.fail("runs", exc)
        return row
    row.mark("runs", PASS)
    row.answer, row.quantity, row.margin, row.error, row.calls = (
        decision.answer, decision.quantity, decision.margin, decision.error, decision.calls)
    side = "yes-to-yes" if truth else "no-to-no"
    if decision.answer is None:
        row.mark(side, INCONCLUSIVE)
        row.messages.append(decision.reason)
    else:
        row.mark(side, PASS if decision.answer == truth else FAIL,
                 f"answered {'YES' if decision.answer else 'NO'} on a {'YES' if truth else 'NO'} instance "
                 f"(quantity {decision.quantity:.6g}, threshold {decision.threshold:.6g})")
    row.mark("margin", PASS if decision.conclusive else INCONCLUSIVE)
    if decision.answer is None and not math.isfinite(decision.quantity):
        # a correct refusal before measuring (e.g. ranges not separated): nothing to compare with the prediction
        row.mark("range", SKIP)
        row.mark("calls", SKIP)
        return row
    lo, hi = pred.yes_range if truth else pred.no_range
    err = decision.error if math.isfinite(decision.error) else 0.0
    inside = lo - err <= decision.quantity <= hi + err
    row.mark("range", PASS if inside else FAIL,
             f"quantity {decision.quantity:.6g} outside the predicted {'YES' if truth else 'NO'} range "
             f"[{lo:.6g}, {hi:.6g}] (error {err:.3g})")
    if pred.calls >= 0:
        row.mark("calls", PASS if decision.calls == pred.calls else FAIL,
                 f"{decision.calls} oracle calls, predicted {pred.calls}")
    _witness_checks(reduction, x, image, result, truth, src_witness, decision, row)
    return row


def _witness_checks(reduction, x, image, result, truth, src_witness, decision, row):
    from sethlab.reductions.problems import get_problem

    if reduction.turing or result is None:
        return
    target_prob = get_problem(reduction.target)
    if truth and src_witness is not None and _overrides(reduction, "forward_witness"):
        try:
            tw = reduction.forward_witness(image, src_witness)
            if target_prob.decision:
                ok = target_prob.verify(image.target, tw)
            else:  # a query row: its output must be in the YES range for one row
                T = np.asarray(result.output)[:, 0]
                pred = image.prediction
                row_low = pred.yes_range[0] if pred.quantity == "max_i T_i" else math.sqrt(pred.yes_range[0])
                ok = tw is not None and T[int(tw)] >= row_low - decision.error
            row.mark("forward-witness", PASS if ok else FAIL, f"mapped witness {tw!r} is not valid in the target")
        except Exception as exc:
            row.fail("forward-witness", exc)
    if decision.answer and _overrides(reduction, "backward_witness"):
        solution = result.witness if target_prob.decision else result
        try:
            sw = reduction.backward_witness(image, solution)
            ok = get_problem(reduction.source).verify(x, sw)
            row.mark("backward-witness", PASS if ok else FAIL, f"mapped-back witness {sw!r} is not valid in the source")
        except Exception as exc:
            row.fail("backward-witness", exc)


@dataclass
class Report:
    """Counts per check, rows, the smallest counterexample and the inconclusive cases of one `check` run."""

    reduction: str
    rows: list
    seconds: float
    seed: int
    counterexample: Row | None = None
    trials_to_first_failure: int | None = None
    options: dict = field(default_factory=dict)
    min_conclusive: float = MIN_CONCLUSIVE

    @property
    def checked(self) -> list:
        """Rows whose source was inside its promise (everything but the skipped ones)."""
        return [r for r in self.rows if not r.skipped]

    @property
    def conclusive(self) -> list:
        return [r for r in self.rows if r.conclusive]

    @property
    def problem(self) -> str | None:
        """Why the report fails, or None when it passes."""
        failing = sum(not r.ok for r in self.rows)
        if failing:
            return f"{failing} instance(s) failed a check"
        checked, conclusive = len(self.checked), len(self.conclusive)
        if conclusive == 0:
            why = "no instance was given" if not self.rows else (
                "every instance was skipped (outside its promise)" if not checked else
                f"none of the {checked} checked instances got a conclusive answer")
            return f"nothing was verified: {why}"
        if conclusive < self.min_conclusive * checked:
            return (f"only {conclusive} of {checked} checked instances got a conclusive answer, below the "
                    f"required share {self.min_conclusive:g} (min_conclusive=)")
        return None

    @property
    def ok(self) -> bool:
        """Every row passed, and enough of them were decided: a check never passes on nothing."""
        return self.problem is None

    @property
    def counts(self) -> dict:
        out = {}
        for r in self.rows:
            for name, status in r.checks.items():
                out.setdefault(name, {PASS: 0, FAIL: 0, SKIP: 0, INCONCLUSIVE: 0})[status] += 1
        return {k: out[k] for k in CHECKS if k in out}

    @property
    def inconclusive(self) -> list:
        return [r for r in self.rows if r.inconclusive]

    def to_dict(self) -> dict:
        ce = None
        if self.counterexample is not None:
            ce = {**self.counterexample.to_dict(), "instance": jsonable(describe(self.counterexample.instance))}
        return jsonable({
            "reduction": self.reduction, "ok": self.ok, "problem": self.problem, "instances": len(self.rows),
            "checked": len(self.checked), "conclusive": len(self.conclusive), "min_conclusive": self.min_conclusive,
            "seed": self.seed,
            "seconds": self.seconds, "counts": self.counts, "counterexample": ce,
            "trials_to_first_failure": self.trials_to_first_failure,
            "inconclusive": [{"index": r.index, "messages": r.messages} for r in self.inconclusive],
            "rows": [r.to_dict() for r in self.rows], "options": self.options,
        })

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """A readable multi-line summary."""
        head = (f"{self.reduction}: {'OK' if self.ok else 'FAILED'} on {len(self.rows)} instances "
                f"({len(self.conclusive)} conclusive, {len(self.inconclusive)} inconclusive, "
                f"{len(self.rows) - len(self.checked)} skipped) in {self.seconds:.1f} s")
        lines = [head]
        if self.problem:
            lines.append(f"  {self.problem}")
        for name, c in self.counts.items():
            parts = [f"{c[s]} {s}" for s in (PASS, FAIL, INCONCLUSIVE, SKIP) if c[s]]
            lines.append(f"  {name:17s} {', '.join(parts)}")
        if self.counterexample is not None:
            ce = self.counterexample
            lines.append(f"  counterexample (source size {ce.source_size}, truth {'YES' if ce.truth else 'NO'}):")
            lines += [f"    {m}" for m in ce.messages]
            if ce.traceback:
                lines.append("    " + ce.traceback.strip().replace("\n", "\n    "))
            lines.append(f"    instance: {json.dumps(jsonable(describe(ce.instance)))[:2000]}")
        return "\n".join(lines)


def _is_strategy(obj) -> bool:
    try:
        from hypothesis.strategies import SearchStrategy
    except ImportError:
        return False
    return isinstance(obj, SearchStrategy)


def _size_key(row: Row) -> float:
    return float(sum(v for v in row.source_size.values() if isinstance(v, (int, float))))


def _run_strategy(reduction, strategy, trials, seed, oracle, options):
    """Generate up to `trials` examples; hypothesis shrinks the first failure in the same run.

    Generation stops at the first failing row, so the rows up to it are the sample
    (counted in the report); later rows are shrink attempts, and the last failing
    one is hypothesis' final replay of the minimal example.
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    rows: list[Row] = []

    @hseed(seed)
    @settings(max_examples=trials, phases=[Phase.generate, Phase.shrink], deadline=None, database=None,
              print_blob=False, report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(x):
        row = check_one(reduction, x, len(rows), oracle, options)
        rows.append(row)
        assert row.ok, row.messages

    try:
        prop()
    except AssertionError:
        pass  # a failing row; other exceptions (a broken strategy) reach the caller
    first = next((r.index for r in rows if not r.ok), None)
    if first is None:
        return rows, None, None
    counterexample = [r for r in rows if not r.ok][-1]
    sample = rows[: first + 1]
    return sample, counterexample, first + 1


def check(reduction, instances=None, *, trials: int = 20, seed: int = 0, workers=1, oracle=None,
          method: str | None = None, backend: str | None = None, device=None, dtype=None, eps=None,
          min_conclusive: float = MIN_CONCLUSIVE) -> Report:
    """Check a reduction (object or registered name) on instances or a hypothesis strategy (docs/decision.md).

    `instances`: a list of source instances (checked in parallel on `workers`,
    see sethlab.executors), a hypothesis strategy (generated and shrunk here),
    or None for the default strategy of the source problem (sethlab.testing).
    `oracle` replaces the target solver (e.g. a gradient implementation under test);
    method/backend/device/dtype/eps configure the attention backends.
    The report passes only if no row failed and at least `min_conclusive` of the checked
    rows (and at least one) were decided.
    """
    from sethlab.reductions.registry import get

    if isinstance(reduction, str):
        reduction = get(reduction)
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 1:
        raise InvalidInstance(f"trials: must be a positive integer, got {trials!r}")
    if isinstance(min_conclusive, bool) or not isinstance(min_conclusive, (int, float)) or not 0 <= min_conclusive <= 1:
        raise InvalidInstance(f"min_conclusive: must be a share in [0, 1], got {min_conclusive!r}")
    options = {"method": method, "backend": backend, "device": device, "dtype": dtype, "eps": eps}
    t0 = time.perf_counter()
    if instances is None:
        from sethlab.reductions.problems import get_problem

        default = getattr(reduction, "default_instances", None)
        instances = default() if default is not None else get_problem(reduction.source).default_strategy()
    if _is_strategy(instances):
        rows, counterexample, first = _run_strategy(reduction, instances, trials, seed, oracle, options)
    else:
        items = list(instances)
        if oracle is not None:
            from sethlab.executors import SerialExecutor

            executor = SerialExecutor()  # an oracle closure does not travel to other processes
        else:
            from sethlab.executors import get_executor

            executor = get_executor(workers)
        rows = executor.map(partial(_check_indexed, reduction, oracle, options), list(enumerate(items)))
        failing = [r for r in rows if not r.ok]
        counterexample = min(failing, key=_size_key) if failing else None
        first = (failing[0].index + 1) if failing else None
    return Report(reduction.name, rows, time.perf_counter() - t0, seed, counterexample, first,
                  {k: v for k, v in options.items() if v is not None}, float(min_conclusive))


def _check_indexed(reduction, oracle, options, pair):
    index, x = pair
    return check_one(reduction, x, index, oracle, options)
