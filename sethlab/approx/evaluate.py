"""Scoring a fast-attention method on a family (docs/approx.md, "Scoring"): its error against exact
attention, its time against exact's, and on reduction images whether the reduction's own decision
rule, reading the method's output, answers the source instance correctly."""

from __future__ import annotations

import importlib
import math
import numbers
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from sethlab.approx._common import positive_int
from sethlab.approx.families import FAMILIES, bound_for, trial
from sethlab.errors import CertificationError, InvalidInstance, MemoryBudgetExceeded
from sethlab.jsonable import jsonable


@dataclass
class TrialRow:
    """One instance: truth and answer (reduction families), errors against exact, seconds."""

    index: int
    seed: int
    truth: bool | None
    answer: bool | None
    correct: bool | None
    max_error: float | None
    relative_error: float | None
    seconds: float | None
    exact_seconds: float
    refused: str | None = None


@dataclass
class Report:
    """What `evaluate` measured: accuracy (None for `bounded`), errors, seconds per call, and the rows."""

    method: str
    family: str
    n: int
    trials: int
    seed: int
    ratio: float | None
    bound: float | None
    params: dict
    rows: list = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        """Share of instances the reduction's decision rule answers correctly from the method's output."""
        if self.family == "bounded" or not self.rows:
            return None
        return sum(bool(r.correct) for r in self.rows) / len(self.rows)

    @property
    def max_error(self) -> float | None:
        """Largest entrywise error against exact attention over all trials (inf where an output was not finite)."""
        errs = [r.max_error for r in self.rows if r.max_error is not None]
        return max(errs) if errs else None

    @property
    def mean_relative_error(self) -> float | None:
        """Mean over trials of ‖T̂ − T‖_F / ‖T‖_F."""
        errs = [r.relative_error for r in self.rows if r.relative_error is not None]
        return float(np.mean(errs)) if errs else None

    @property
    def seconds(self) -> float | None:
        """Median seconds of one call of the method."""
        s = [r.seconds for r in self.rows if r.seconds is not None]
        return float(np.median(s)) if s else None

    @property
    def exact_seconds(self) -> float:
        """Median seconds of one exact call on the same instances."""
        return float(np.median([r.exact_seconds for r in self.rows]))

    @property
    def refused(self) -> int:
        return sum(r.refused is not None for r in self.rows)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("method", "family", "n", "trials", "seed", "ratio", "bound", "params",
                                              "accuracy", "max_error", "mean_relative_error", "seconds",
                                              "exact_seconds", "refused")}
        out["speed_vs_exact"] = (self.exact_seconds / self.seconds) if self.seconds else None
        out["rows"] = [asdict(r) for r in self.rows]
        return jsonable(out)

    def summary(self) -> str:
        def f(x, spec):
            return "n/a" if x is None else format(x, spec)

        acc = "" if self.accuracy is None else f"accuracy {self.accuracy:.2f}, "
        ref = f", {self.refused} refused" if self.refused else ""
        return (f"{self.method} on {self.family} (n = {self.n}, {self.trials} trials"
                f"{'' if self.ratio is None else f', B = {self.bound:.3g} = {self.ratio:g}·sqrt(ln n)'}): {acc}"
                f"max error {f(self.max_error, '.3g')}, mean relative error {f(self.mean_relative_error, '.3g')}, "
                f"{f(self.seconds, '.3g')} s per call vs exact {self.exact_seconds:.3g} s{ref}")


def resolve(method, params: dict):
    """(name, callable) for a method name, a callable, or 'module:function'."""
    from sethlab.approx import get, names

    if callable(method):
        if params:
            raise InvalidInstance(f"params: a callable method takes no parameters here, got {sorted(params)}")
        return getattr(method, "__name__", repr(method)), method
    if not isinstance(method, str):
        raise InvalidInstance(f"method: must be a name ({', '.join(names())}), a callable or 'module:function', "
                              f"got {method!r}")
    if ":" in method:
        mod, _, fn = method.partition(":")
        if not mod or not fn:
            raise InvalidInstance(f"method: 'module:function' needs both parts, got {method!r}")
        try:
            obj = getattr(importlib.import_module(mod), fn)
        except (ImportError, AttributeError, ValueError, TypeError) as e:
            raise InvalidInstance(f"method: cannot import {method!r} ({type(e).__name__}: {e})") from None
        if not callable(obj):
            raise InvalidInstance(f"method: {method!r} is not callable")
        if params:
            raise InvalidInstance(f"params: an imported method takes no parameters here, got {sorted(params)}")
        return method, obj
    return method, get(method, **params)


def _check_request(family, n, trials, seed, ratio, d, progress):
    if family not in FAMILIES:
        raise InvalidInstance(f"family: must be one of {', '.join(FAMILIES)}, got {family!r}")
    n = positive_int(n, "n", 2)
    trials = positive_int(trials, "trials", 1)
    seed = positive_int(seed, "seed", 0)
    if d is not None:
        d = positive_int(d, "dimension", 1)
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not math.isfinite(ratio) or ratio <= 0:
            raise InvalidInstance(f"ratio: must be a positive finite number, got {ratio!r}")
        ratio = float(ratio)
    if family == "bounded" and ratio is None:
        raise InvalidInstance("ratio: the bounded family needs B = ratio·sqrt(ln n); give ratio")
    if family != "bounded" and ratio is not None:
        raise InvalidInstance(f"ratio: only the bounded family takes a ratio, not {family!r}")
    if progress is not None and not callable(progress):
        raise InvalidInstance(f"progress: must be a callable progress(done, total) or None, got {progress!r}")
    return n, trials, seed, d, ratio


def evaluate(method, family: str, n: int, trials: int = 4, seed: int = 0, ratio: float | None = None, *,
             dimension: int | None = None, method_params: dict | None = None, progress=None, **params) -> Report:
    """Score `method` on `trials` instances of `family` at size n (docs/approx.md, "Scoring").

    family: "bounded" (entries uniform in [−B, B], B = ratio·√ln n, d = 16 unless `dimension` says), "ov"
    (OV → attention images, d0 = round(2 log2 n), half planted, half certified no-pair) or
    "gap-hamming" (Gap-Hamming → attention with tuned anchors, half YES, half NO). Every instance is
    also solved exactly (sethlab.attention.attention) for the errors and the time ratio. `seed` seeds
    the instances; the method's own parameters are **params, or `method_params` for names evaluate
    takes itself (a method's `seed`). `progress(done, total)` is called after every trial.
    """
    n, trials, seed, dimension, ratio = _check_request(family, n, trials, seed, ratio, dimension, progress)
    if method_params is not None and not isinstance(method_params, dict):
        raise InvalidInstance(f"method_params: must be a dict, got {type(method_params).__name__}")
    both = sorted(set(params) & set(method_params or {}))
    if both:
        raise InvalidInstance(f"{both[0]}: given both as a keyword and in method_params")
    params = {**params, **(method_params or {})}
    name, fn = resolve(method, params)
    return evaluate_many({name: (fn, dict(params))}, family, n, trials, seed, ratio, dimension=dimension,
                         progress=progress)[name]


def evaluate_many(methods: dict, family: str, n: int, trials: int = 4, seed: int = 0, ratio: float | None = None, *,
                  dimension: int | None = None, progress=None) -> dict:
    """`evaluate` for several methods on the same instances, each solved exactly once: methods maps a
    label to (callable, params for the report); returns a label → Report dict."""
    n, trials, seed, dimension, ratio = _check_request(family, n, trials, seed, ratio, dimension, progress)
    if not isinstance(methods, dict) or not methods:
        raise InvalidInstance("methods: must be a non-empty dict label -> (callable, params)")
    for label, entry in methods.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0]) and isinstance(entry[1], dict)):
            raise InvalidInstance(f"methods: {label!r} must map to (callable, params dict), got {entry!r}")
    from sethlab.attention import attention

    bound = bound_for(n, ratio) if ratio else None
    reports = {name: Report(name, family, n, trials, seed, ratio, bound, params)
               for name, (_, params) in methods.items()}
    for i in range(trials):
        t = trial(family, n, seed + i, i, ratio, dimension)
        t0 = time.perf_counter()
        exact = attention(t.instance).output
        exact_seconds = time.perf_counter() - t0
        for name, (fn, _) in methods.items():
            reports[name].rows.append(_score(fn, t, i, exact, exact_seconds))
        if progress is not None:
            progress(i + 1, trials)
    return reports


def _score(fn, t, index: int, exact: np.ndarray, exact_seconds: float) -> TrialRow:
    """One method on one trial: its output against exact, and the reduction's decision from it."""
    from sethlab.reductions.base import attention_quantity, decide_quantity

    inst = t.instance
    refused = None
    t0 = time.perf_counter()
    try:
        out = fn(inst.Q, inst.K, inst.V)
    except (CertificationError, MemoryBudgetExceeded) as e:
        out, refused = None, str(e)
    seconds = time.perf_counter() - t0 if refused is None else None
    max_err = rel = answer = None
    if refused is None:
        out, why = _as_output(out, inst)
        if out is None:
            refused = f"output: {why}"
        else:
            diff = out - exact
            finite = bool(np.isfinite(out).all())
            max_err = float(np.abs(diff).max()) if finite else math.inf
            norm = float(np.linalg.norm(exact))
            rel = (float(np.linalg.norm(diff)) / norm if norm > 0 else float(np.linalg.norm(diff))) \
                if finite else math.inf
            if t.reduction is not None and finite:
                q, _ = attention_quantity(out, t.reduction.quantity, 0.0)
                answer = decide_quantity(t.image.prediction, q, 0.0).answer
    correct = None if t.truth is None else (answer is not None and answer == t.truth)
    return TrialRow(index, t.seed, t.truth, answer, correct, max_err, rel, seconds, exact_seconds, refused)


def _as_output(out, inst):
    """(the method's output as an nq × dv float64 array, None) or (None, why it is not one). Real numbers
    only: complex, text and object arrays are refused, not coerced; torch tensors of any float type
    are converted."""
    if out is None:
        return None, "the method returned None"
    if hasattr(out, "detach") and hasattr(out, "cpu"):
        try:
            out = out.detach().cpu()
            out = (out.double() if out.is_floating_point() else out).numpy()
        except (TypeError, RuntimeError) as e:
            return None, f"a tensor numpy cannot read ({e})"
    try:
        arr = np.asarray(out)
    except (TypeError, ValueError) as e:
        return None, f"not an array ({e})"
    if arr.dtype.kind not in "fiu":
        return None, f"not real numbers (dtype {arr.dtype})"
    if arr.shape != (inst.nq, inst.dv):
        return None, f"shape {arr.shape}, not ({inst.nq}, {inst.dv})"
    return arr.astype(np.float64), None
