"""Forward attention → loss gradient, a Turing reduction (AS24 Appendix E; docs/quadrature.md).

For a forward instance (Q, K, V) with 0/1 values, f(λ) = ‖softmax(λ·QKᵀ/d) V‖_F²
= 2·L(λI) for A1 = Q, A2 = K, A3 = V, Y = I, E = 0. One gradient call gives
f'(λ) = 2·tr(∂L/∂X) at X = λI; f(0) is exact; quadrature gives f(1), which
decides the forward instance. Every oracle call is counted.
"""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np

from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.rounding import EVAL_SLACK, UNIT_ROUNDOFF, gamma, scales, upper
from sethlab.errors import InvalidInstance
from sethlab.reductions.base import Decision, Image, Prediction, Reduction, decide_quantity
from sethlab.reductions.quadrature import (
    RULES,
    certified_nodes,
    check_nodes,
    gauss_legendre_error_bound,
    make_rule,
    paper_points,
    riemann_error_bound,
    second_derivative_bound,
)
from sethlab.reductions.panels import Panel, composite_plan, composite_rule, score_profile

U = UNIT_ROUNDOFF["float64"]
# Above this many single-panel nodes the score profile is computed (one pass over the scores) to try panels.
COMPOSITE_FROM = 16


def make_oracle(method: str = "exact", backend: str = "numpy", device=None, dtype=None, eps: float | None = None,
                memory_budget=None):
    """An oracle for AAttLGC: any `loss_gradient` configuration, as a callable GradientInstance → GradientResult.

    Exact oracles keep the engine set up between calls on instances that share the key side (the
    X = λ·I calls of one quadrature, `sethlab.attention.api.PreparedGradient`); every call is still a
    whole gradient with its own certified bound. `oracle.many(instances, accuracy)` yields the calls'
    results in order, several to an engine pass; the reduction uses it when an oracle has it.
    """
    from sethlab.attention import loss_gradient
    from sethlab.attention.api import PreparedGradient

    prepared = []
    lock = threading.Lock()

    def engine(inst):
        with lock:
            if not prepared:
                prepared.append(PreparedGradient(inst, backend=backend, device=device, dtype=dtype,
                                                 memory_budget=memory_budget))
        return prepared[0]

    def oracle(inst: GradientInstance, accuracy: float | None = None):
        if method == "exact":
            return engine(inst)(inst)
        e = eps if eps is not None else accuracy
        return loss_gradient(inst, method=method, backend=backend, device=device, dtype=dtype, eps=e,
                             memory_budget=memory_budget)

    def many(insts, accuracy: float | None = None):
        """Yield oracle(inst, accuracy) for each instance of the iterable, in order: one call each, the exact
        engine's run several to a pass (`PreparedGradient.many`)."""
        if method != "exact":
            yield from (oracle(inst, accuracy) for inst in insts)
            return
        insts = iter(insts)
        first = next(insts, None)
        if first is None:
            return
        yield from engine(first).many(itertools.chain([first], insts))

    oracle.method, oracle.backend, oracle.many = method, backend, many
    return oracle


def attention_images(**kwargs):
    """Hypothesis strategy: forward images OV → attention deciding by ‖T‖_F², the inputs of this reduction
    (`kwargs` as for `sethlab.strategies.ov_instances`)."""
    from sethlab.reductions.ov_to_attention import OVToAttention
    from sethlab.strategies import ov_instances

    return ov_instances(**kwargs).map(OVToAttention(quantity="frobenius").apply)


def gradient_instance(inst: AttentionInstance, lam: float) -> GradientInstance:
    """The AAttLGC instance at X = λ·I_d: A1 = Q, A2 = K, A3 = V, Y = I_dv, E = 0 (docs/quadrature.md).

    The instance at λ = 1 is built once per forward instance (kept on it); each λ shares its arrays and
    what was computed from them (`GradientInstance.at`)."""
    base = inst.__dict__.get("_gradient_base")
    if base is None:
        base = GradientInstance(inst.Q, inst.K, inst.V, np.zeros((inst.nq, inst.dv)), np.eye(inst.d), np.eye(inst.dv))
        inst.__dict__["_gradient_base"] = base
    return base.at(float(lam))


def f_at_zero(inst: AttentionInstance) -> float:
    """f(0) = nq·Σ_l (1ᵀV_l / nk)²: at λ = 0 the softmax is uniform."""
    col = inst.V.sum(axis=0) / inst.nk
    return float(inst.nq * np.sum(col * col))


def f_at_zero_error(inst: AttentionInstance, f0: float) -> float:
    """|fl(f(0)) − f(0)| for 0/1 values: the column sums are exact integers, then /nk, a square, dv sums, ·nq."""
    return upper(gamma(inst.dv + 3, U) / (1 - gamma(inst.dv + 3, U)) * abs(f0), 8)


def f_exact(inst: AttentionInstance, lam: float = 1.0) -> float:
    """f(λ) computed directly by the exact forward engine (for checks, not by the reduction)."""
    from sethlab.attention import attention

    scaled = AttentionInstance(inst.Q * lam, inst.K, inst.V)
    out = attention(scaled).output
    return float(np.sum(out * out))


def score_error(inst: AttentionInstance) -> float:
    """Every computed score fl(Q_I·fl(Kᵀ/d)) is within γ_{d+1}·R_abs of the exact QKᵀ/d (K/d rounds once,
    the product is a length-d sum)."""
    return gamma(inst.d + 1, U) * scales(inst).R_abs


def score_span(inst: AttentionInstance) -> float:
    """σ >= max_i (max_j s_ij − min_j s_ij) for the exact s = QKᵀ/d, streamed over row blocks.

    The computed span is raised past its rounding: each computed score is within `score_error`
    of the exact one, the difference once more.
    """
    from sethlab.attention.blocks import block_rows, row_blocks

    b = block_rows(inst.nq, inst.nk)
    span = 0.0
    Kt = inst.K.T / inst.d
    for lo, hi in row_blocks(inst.nq, b):
        s = inst.Q[lo:hi] @ Kt
        span = max(span, float((s.max(axis=1) - s.min(axis=1)).max()))
    return upper(span * (1 + U) + 2 * score_error(inst), 8)


class AttentionToGradient(Reduction):
    """Decide a forward image whose quantity is ‖T‖_F² with gradient calls only (docs/quadrature.md).

    rule="gauss-legendre" (default): `nodes` fixed, or chosen so the certified
    quadrature bound is at most a quarter of the prediction's gap
    (`certified=True`), or grown by doubling from 8 until two node counts agree
    (`certified=False`: the calls that empirically suffice). The estimate alone never
    decides: an estimated run answers only if the certified bound at its final node
    count is below the margin too, and is inconclusive otherwise (a sharp f' that
    falls between all nodes fools any two-count estimate).
    rule="riemann": the paper's left Riemann sum with `nodes` (default ⌈ln⁴ n⌉).
    """

    name = "attention-to-gradient"
    source = "attention"
    target = "attention-gradient"
    turing = True
    takes_image = True
    needs_quantity = "frobenius"

    def overhead(self, size: dict) -> dict:
        return {"nq": size["nq"], "nk": size["nk"], "d": size["d"], "dv": size["dv"], "m": size["dv"]}

    def default_instances(self):
        """What the verifier draws by default: forward images, not bare attention instances."""
        return attention_images()

    def __init__(self, rule: str = "gauss-legendre", nodes: int | None = None, certified: bool = True,
                 max_nodes: int = 8192):
        if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
            raise InvalidInstance(f"max_nodes: must be a positive integer, got {max_nodes!r}")
        if rule not in RULES:
            raise InvalidInstance(f"rule: must be one of {', '.join(RULES)}, got {rule!r}")
        check_nodes(max_nodes, rule)
        if nodes is not None:
            check_nodes(nodes, rule)
        self.rule, self.nodes, self.certified, self.max_nodes = rule, nodes, certified, max_nodes

    def _check_image(self, image: Image) -> AttentionInstance:
        inst = image.target
        if not isinstance(inst, AttentionInstance):
            raise InvalidInstance(f"image: target must be an AttentionInstance, got {type(inst).__name__}")
        if image.prediction.quantity != "||T||_F^2":
            raise InvalidInstance(
                f"image: the gradient route decides ||T||_F^2, but the forward prediction is about {image.prediction.quantity}"
            )
        if not np.isin(inst.V, (0.0, 1.0)).all():
            raise InvalidInstance("image: V must be 0/1 for the reduction of docs/quadrature.md")
        return inst

    def plan(self, image: Image) -> dict:
        """Nodes, calls and quadrature bound for this image, before any oracle call."""
        inst = self._check_image(image)
        sigma = score_span(inst)
        n = max(inst.nq, inst.nk)
        args = (sigma, inst.nq, inst.dv, inst.bound_V)
        gap = image.prediction.gap
        if self.rule == "riemann":
            m = self.nodes or paper_points(n)
            bound = riemann_error_bound(m, *args)
        elif self.nodes is not None:
            m = self.nodes
            bound = gauss_legendre_error_bound(m, *args)[0]
        elif self.certified:
            m = certified_nodes(gap / 4, *args, max_nodes=self.max_nodes)
            if m is None or m > COMPOSITE_FROM:
                panels = self._panels(inst, sigma, gap / 4, m)
                if panels is not None:
                    return {"rule": self.rule, "nodes": sum(p.nodes for p in panels),
                            "quadrature_bound": sum(p.bound for p in panels), "sigma": sigma,
                            "certified": True, "panels": [p.to_dict() for p in panels]}
            if m is None:
                m = self.max_nodes
            bound = gauss_legendre_error_bound(m, *args)[0]
        else:
            m, bound = None, None  # adaptive: known only after the calls
        return {"rule": self.rule, "nodes": m, "quadrature_bound": bound, "sigma": sigma, "certified": self.certified,
                "panels": None}

    def _panels(self, inst, sigma, tol, single):
        """Composite panels certified from the score profile, if they need fewer nodes than `single`."""
        if not (sigma > 0 and np.any(inst.V)):
            return None
        profile = score_profile(inst, sigma, score_error(inst))
        panels = composite_plan(profile, tol, self.max_nodes)
        if panels is None or (single is not None and sum(p.nodes for p in panels) >= single):
            return None
        return panels

    def apply(self, image: Image) -> Image:
        """The gradient-side prediction: calls, accuracy per call, quadrature error, same decisive ranges."""
        inst = self._check_image(image)
        info = self.plan(image)
        fwd = image.prediction
        # per-call gradient accuracy so that the summed trace errors use at most a quarter of the gap
        accuracy = fwd.gap / (4 * 2 * inst.d)
        pred = Prediction(
            sizes={"nq": inst.nq, "nk": inst.nk, "d": inst.d, "dv": inst.dv, "m": inst.dv},
            entry_bound=fwd.entry_bound,
            quantity=fwd.quantity,
            threshold=fwd.threshold,
            yes_range=fwd.yes_range,
            no_range=fwd.no_range,
            accuracy=accuracy,
            calls=info["nodes"] if info["nodes"] is not None else -1,
            notes={**info, "f0": f_at_zero(inst)},
        )
        return Image(gradient_instance(inst, 1.0), pred, source_sizes=dict(fwd.sizes), meta={"forward": image})

    def _integrate(self, inst, rule, oracle, accuracy, sigma, progress=None, done=0, total=None):
        """(Σ ŵ_k f̂'(λ̂_k), its error terms) for the rule with m nodes (docs/quadrature.md, "The decision's error").

        Terms: the oracles' certified errors and the rounding of each trace; the rounding of the
        weighted sum; the distance of the computed nodes and weights from the exact rule's
        (|f'| at the node, and |f''| <= b times the node error).
        """
        m = rule.m
        values, errs = np.empty(m), np.empty(m)
        g_d = gamma(inst.d, U)
        insts = (gradient_instance(inst, float(lam)) for lam in rule.nodes)
        many = getattr(oracle, "many", None)
        results = many(insts, accuracy) if many is not None else (oracle(g, accuracy) for g in insts)
        count = 0
        for k, res in enumerate(results):
            if k >= m:
                raise InvalidInstance(f"oracle: many() gave more than {m} results for {m} gradient instances")
            diag = np.diagonal(np.asarray(res.grad, dtype=np.float64))
            values[k] = 2.0 * float(diag.sum())
            # |2·fl(tr ĝ) − f'(λ̂_k)| <= 2(d·ε + γ_d Σ|ĝ_aa|): the trace sums d entries, each within ε
            errs[k] = 2.0 * (inst.d * float(res.error_bound) + g_d * float(np.abs(diag).sum()))
            if progress is not None:
                progress(done + k + 1, total)
            count = k + 1
        if count != m:  # an oracle's many() that dropped calls must not leave values unset
            raise InvalidInstance(f"oracle: many() gave {count} results for {m} gradient instances")
        w = rule.weights
        integral = float(w @ values)
        b = second_derivative_bound(sigma, inst.nq, inst.dv, inst.bound_V)
        terms = {
            "oracle_error": float(w @ errs),
            "summation_error": gamma(m, U) * float(np.abs(w * values).sum()),
            "node_error": float(rule.weight_error @ (np.abs(values) + errs)
                                + (w + rule.weight_error) @ (b * rule.node_error)),
        }
        return integral, {k: upper(v, 4 * m + 16) for k, v in terms.items()}

    def solve(self, image: Image, oracle=None, progress=None, **options) -> Decision:
        """Decide the forward image with gradient calls: f(1) = f(0) + Σ w_k f'(λ_k).

        `oracle`: any callable GradientInstance → GradientResult; otherwise one is
        made from `options` (method, backend, device, dtype) by `make_oracle`. The
        certified error adds the quadrature bound of the exact rule, the oracles' bounds,
        every rounding of the sum and of f(0), and the computed nodes' and weights' errors.
        `progress(done, total)` is called after every gradient call (total None while adaptive).
        """
        oracle = oracle or make_oracle(**options)
        g_image = self.apply(image)
        inst = image.target
        pred = g_image.prediction
        notes = pred.notes
        f0 = notes["f0"]
        sigma = notes["sigma"]
        t0 = time.perf_counter()
        if not pred.separated:  # no quadrature can decide: say so before spending any oracle call
            return decide_quantity(pred, float("nan"), float("inf"), 0, rule=self.rule, nodes=0, f0=f0)
        if notes["nodes"] is not None:
            m = notes["nodes"]
            panels = notes.get("panels")
            rule = composite_rule([Panel(**p) for p in panels]) if panels else make_rule(self.rule, m)
            integral, num = self._integrate(inst, rule, oracle, pred.accuracy, sigma, progress, 0, m)
            quad = notes["quadrature_bound"]
            calls, kind = m, "certified"
        else:  # adaptive Gauss-Legendre: an estimate from two node counts
            m, calls, prev = 8, 0, None
            while True:
                integral, num = self._integrate(inst, make_rule(self.rule, m), oracle, pred.accuracy, sigma, progress,
                                                calls, None)
                calls += m
                if prev is not None:
                    quad = abs(integral - prev)
                    if quad <= pred.gap / 4 or 2 * m > self.max_nodes:
                        break
                prev, m = integral, 2 * m
            kind = "estimated"
        f1 = f0 + integral
        num["f0_error"] = f_at_zero_error(inst, f0)
        num["final_rounding"] = U * abs(f1)
        num_err = sum(num.values())
        details = {
            "rule": self.rule, "nodes": m, "bound_kind": kind, "quadrature_error": quad,
            "numerical_error": num_err, **num, "f0": f0, "sigma": sigma, "seconds": time.perf_counter() - t0,
            "panels": notes.get("panels"),
        }
        if kind == "estimated":  # decide on the certified bound at m; keep the estimate as information
            certified = gauss_legendre_error_bound(m, sigma, inst.nq, inst.dv, inst.bound_V)[0]
            details.update(estimated_error=quad, quadrature_error=certified)
            quad = certified
        return decide_quantity(pred, f1, (quad + num_err) * (1 + EVAL_SLACK), calls, **details)
