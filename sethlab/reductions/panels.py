"""Composite Gauss-Legendre on dyadic panels, certified by a bound on |f'| read off the scores (docs/quadrature.md, "Composite panels").

The global bound of `quadrature.gauss_legendre_error_bound` knows only the largest row span σ,
so its Bernstein ellipse is thin everywhere (|Im λ| < π/σ). Yet f(λ) = ‖softmax(λ·S)V‖_F² is
hard only near λ = 0: once each row's weights gather on its top scores, the denominator
Σ_j e^{λ s_j} stays away from 0 on wide complex rectangles. One pass over the scores (the
cost of one forward call) stores each row's score histogram; from it, `panel_bounds`
bounds |f'| on any rectangle, so each panel of [0, 1] gets its own ellipse, and
`composite_plan` halves a panel wherever that needs fewer nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sethlab.attention.blocks import block_rows, row_blocks
from sethlab.attention.instances import AttentionInstance
from sethlab.attention.rounding import UNIT_ROUNDOFF
from sethlab.errors import InvalidInstance
from sethlab.memory import require
from sethlab.reductions.gauss_legendre import verified_rule
from sethlab.reductions.quadrature import Rule

U = UNIT_ROUNDOFF["float64"]
# Bins of each row's histogram of shifted scores over [−σ, 0].
DEFAULT_BINS = 256
# Each ellipse's bounding rectangle is cut into this many vertical slices, each bounded on its own.
SLICES = 8
# Candidate ellipse parameters ρ per panel (any ρ > 1 gives a valid bound; the best is kept). Measured on
# the OV images of bench/chain.py (n = 256 … 4096): this grid, 8 slices and 3 rotations need 0-8% more
# nodes than 10 ρ in [1.001, 31] with 12 slices, and plan in a third of the time.
RHOS = 1.0 + np.geomspace(0.1, 4.0, 6)
# Rotations e^{−iyμ} tried for the lower bound on |Σ_j e^{λ s_j}|, as shares of σ below the row's top.
ROTATIONS = (0.0, 0.25, 0.5)
# Panels are never narrower than 2^-MAX_DEPTH (their ends and widths stay exact binary fractions).
MAX_DEPTH = 10
# Every computed upper quantity is raised, and every lower one lowered, by this relative slack: far
# above the rounding of the few-term formulas, sums of nonnegative terms (256 bins; 2^11 rows per chunk plus
# one addition per chunk) and exp/cos within
# 4 ulps of arguments below MAX_EXPONENT (docs/quadrature.md, "Composite panels").
SLACK = 1e-9
MAX_EXPONENT = 600.0
MAX_ROWS = 1 << 23
# Rows per chunk of the bound's matrix products (memory O(ROW_CHUNK · columns)).
ROW_CHUNK = 2048
# 64/15 of Trefethen's theorem (ATAP Thm 19.3), the same constant as the global bound.
GL_CONSTANT = 64.0 / 15.0


@dataclass(frozen=True)
class ScoreProfile:
    """Per-row histograms of the shifted scores t_ij = s_ij − max_j ŝ_ij of an attention instance.

    counts[i, b]: keys of row i whose computed t lies in bin b; vnorms[i, b]: Σ ‖V_j‖₂ over them.
    Every exact t of a key counted in bin b lies in [lo[b], hi[b]] (the bin widened by all rounding).
    """

    counts: np.ndarray
    vnorms: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sigma: float

    @property
    def bins(self) -> int:
        return len(self.lo)


@dataclass(frozen=True)
class Panel:
    """One panel [a, b] of the composite rule: its node count, certified error and the ellipse used."""

    a: float
    b: float
    nodes: int
    bound: float
    rho: float

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "nodes": self.nodes, "bound": self.bound, "rho": self.rho}


def score_profile(inst: AttentionInstance, sigma: float, score_error: float, bins: int = DEFAULT_BINS,
                  memory_budget=None) -> ScoreProfile:
    """Histograms of each row's shifted scores over [−σ, 0], streamed over row blocks (docs/quadrature.md).

    `sigma` >= every row's computed span and `score_error` >= |ŝ − s| for every score, as from
    `attention_to_gradient.score_span` / `score_error`. The bins are widened by score_error plus
    16uσ, which covers the shift, the bin index arithmetic and the edges' own rounding.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1 << 16:
        raise InvalidInstance(f"bins: must be an integer in [1, 65536], got {bins!r}")
    if not (math.isfinite(sigma) and sigma > 0):
        raise InvalidInstance(f"sigma: must be positive and finite, got {sigma!r}")
    nq, nk = inst.nq, inst.nk
    if nq > MAX_ROWS:
        raise InvalidInstance(f"inst: at most {MAX_ROWS} query rows are profiled, got {nq}")
    rows = block_rows(nq, nk)
    require(16 * nq * bins + 8 * rows * (3 * nk + 2 * bins),
            f"profiling the scores of a {nq} x {nk} attention instance ({bins} bins per row)", memory_budget)
    Kt = inst.K.T / inst.d
    vn = np.sqrt(np.einsum("ij,ij->i", inst.V, inst.V))
    counts = np.zeros((nq, bins))
    vnorms = np.zeros((nq, bins))
    scale = bins / sigma
    for lo, hi in row_blocks(nq, rows):
        t = inst.Q[lo:hi] @ Kt
        t -= t.max(axis=1, keepdims=True)  # <= 0 exactly
        t += sigma
        t *= scale
        idx = t.astype(np.int64)
        np.clip(idx, 0, bins - 1, out=idx)
        idx += (np.arange(hi - lo, dtype=np.int64) * bins)[:, None]
        flat = idx.ravel()
        size = (hi - lo) * bins
        counts[lo:hi] = np.bincount(flat, minlength=size).reshape(hi - lo, bins)
        if inst.dv and np.any(vn):
            w = np.broadcast_to(vn, idx.shape).ravel()
            vnorms[lo:hi] = np.bincount(flat, weights=w, minlength=size).reshape(hi - lo, bins)
    vnorms *= 1 + SLACK  # the norms' square roots and the weighted sums
    widen = score_error + 16 * U * sigma
    edges = -sigma + np.arange(bins + 1) * (sigma / bins)
    return ScoreProfile(counts, vnorms, edges[:-1] - widen, np.minimum(edges[1:], 0.0) + widen, float(sigma))


def _slice_columns(profile: ScoreProfile, xs: np.ndarray, Y: float):
    """Per slice [xs[k], xs[k+1]] × [−Y, Y] and bin: (p, q) columns of the lower bound on |D|, one pair per
    rotation, and e_max, e_max·|t|_max; None if an exponent passes MAX_EXPONENT (no bound there)."""
    lo, hi = profile.lo, profile.hi
    xl, xh = xs[:-1, None], xs[1:, None]
    corners = np.stack([xl * lo, xl * hi, xh * lo, xh * hi])  # (4, slices, bins): e^{x t} is extremal at a corner
    top, bottom = corners.max(axis=0), corners.min(axis=0)
    if top.max() > MAX_EXPONENT:
        return None
    emax = np.exp(top) * (1 + SLACK)
    emin = np.exp(bottom) * (1 - SLACK)
    tabs = np.maximum(np.abs(lo), np.abs(hi))
    P, Q = [], []  # rotation-major: the max over rotations is then over contiguous blocks
    for share in ROTATIONS:
        mu = -share * profile.sigma
        # cos(y(t − μ)) >= cos(Y·max|t − μ|) while that angle is at most π; −1 beyond
        ang = Y * np.maximum(np.abs(lo - mu), np.abs(hi - mu)) * (1 + SLACK)
        g = np.where(ang <= math.pi, np.cos(np.minimum(ang, math.pi)) - 1e-12, -1.0)
        P.append(np.where(g > 0, emin * np.maximum(g, 0.0), 0.0))
        Q.append(np.where(g > 0, 0.0, emax * -np.minimum(g, 0.0)))
    return np.stack(P), np.stack(Q), emax, emax * tabs


def panel_bounds(profile: ScoreProfile, a: float, b: float, rhos) -> np.ndarray:
    """M(ρ) >= max |f'(λ)| over the closed Bernstein ellipse of [a, b] with parameter ρ, one per ρ (inf: none).

    Each ellipse lies in the rectangle [c − r, c + r] × [−Y, Y] (r = h(ρ + 1/ρ)/2, Y = h(ρ − 1/ρ)/2,
    h the half-width), cut into SLICES slices. On a slice, per row i and rotation μ,
    |D_i| >= Re(e^{−iyμ}D_i) >= Σ_j e^{x t_j}cos(y(t_j − μ)) >= L_i > 0 proves D_i ≠ 0, and then
    ‖T_i‖ <= U_i/L_i, ‖T_i'‖ <= (A_i + ‖T_i‖B_i)/L_i, |f_i'| <= 2‖T_i‖‖T_i'‖ (docs/quadrature.md).
    """
    c, h2 = (a + b) / 2, (b - a) / 2
    rhos = np.asarray(rhos, dtype=np.float64)
    out = np.full(len(rhos), np.inf)
    cols, where = [], []
    for r, rho in enumerate(rhos):
        xr = h2 * (rho + 1 / rho) / 2 * (1 + SLACK)
        Y = h2 * (rho - 1 / rho) / 2 * (1 + SLACK)
        sl = _slice_columns(profile, np.linspace(c - xr, c + xr, SLICES + 1), Y)
        if sl is not None:
            cols.append(sl)
            where.append(r)
    if not cols:
        return out
    nrho, nrot = len(cols), len(ROTATIONS)
    width = nrho * SLICES
    P = np.concatenate([p for p, _, _, _ in cols], axis=1).reshape(nrot * width, -1).T  # bins × (rotation, ρ, slice)
    Q = np.concatenate([q for _, q, _, _ in cols], axis=1).reshape(nrot * width, -1).T
    E = np.concatenate([e for _, _, e, _ in cols]).T  # bins × (ρ, slice)
    S = np.concatenate([s for _, _, _, s in cols]).T
    total = np.zeros(width)
    for lo, hi in row_blocks(profile.counts.shape[0], ROW_CHUNK):
        C, W = profile.counts[lo:hi], profile.vnorms[lo:hi]
        Lr = (C @ P) * (1 - SLACK) - (C @ Q) * (1 + SLACK)
        L = Lr[:, :width]
        for r in range(1, nrot):
            L = np.maximum(L, Lr[:, r * width:(r + 1) * width])
        Un, A = (W @ E) * (1 + SLACK), (W @ S) * (1 + SLACK)
        B = (C @ S) * (1 + SLACK)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            T = Un / L
            F = 2 * T * (A + T * B) / L
        F[~(L > 0)] = np.inf
        total += F.sum(axis=0)
    M = total.reshape(nrho, SLICES).max(axis=1) * (1 + SLACK)
    out[where] = M
    return out


def panel_error(M: float, rho: float, h2: float, m: int) -> float:
    """(b − a)/2 · (64/15) · M ρ^{2−2m}/(ρ² − 1): m-node Gauss-Legendre on a panel of half-width h2."""
    if not math.isfinite(M):
        return math.inf
    log = math.log(h2 * GL_CONSTANT * M / (rho * rho - 1)) + (2 - 2 * m) * math.log(rho)
    return math.exp(min(log, 700.0)) * (1 + SLACK)


def panel_nodes(profile: ScoreProfile, a: float, b: float, tol: float, max_nodes: int) -> Panel | None:
    """Fewest nodes (at most max_nodes) whose certified error on [a, b] is <= tol, over RHOS; None if none."""
    h2 = (b - a) / 2
    best = None
    rhos = RHOS
    for rho, M in zip(rhos, panel_bounds(profile, a, b, rhos)):
        if not math.isfinite(M) or M <= 0:
            if M == 0:
                return Panel(a, b, 1, 0.0, float(rho))
            continue
        need = 1 + math.log(h2 * GL_CONSTANT * M / ((rho * rho - 1) * tol)) / (2 * math.log(rho))
        m = max(1, math.ceil(need))
        while m <= max_nodes and panel_error(M, rho, h2, m) > tol:
            m += 1
        if m <= max_nodes and (best is None or m < best.nodes):
            best = Panel(a, b, m, panel_error(M, rho, h2, m), float(rho))
    return best


def composite_plan(profile: ScoreProfile, tol: float, max_nodes: int) -> list[Panel] | None:
    """Dyadic panels of [0, 1] with total certified error <= tol (each panel gets tol × its width).

    A panel is halved, down to width 2^−MAX_DEPTH, when its halves together need fewer nodes.
    None if no plan within max_nodes is found.
    """
    if not tol > 0:
        return None

    def plan(a, b, here, depth):
        if depth < MAX_DEPTH:
            mid = (a + b) / 2
            left = panel_nodes(profile, a, mid, tol * (mid - a), max_nodes)
            right = panel_nodes(profile, mid, b, tol * (b - mid), max_nodes)
            if here is None or (left is not None and right is not None and left.nodes + right.nodes < here.nodes):
                return plan(a, mid, left, depth + 1) + plan(mid, b, right, depth + 1)
        return [here]

    panels = plan(0.0, 1.0, panel_nodes(profile, 0.0, 1.0, tol, max_nodes), 0)
    if any(p is None for p in panels) or sum(p.nodes for p in panels) > max_nodes:
        return None
    return panels


def composite_rule(panels: list[Panel]) -> Rule:
    """The verified m-node rule of each panel mapped to [a, b]: widths are powers of two, so h·t and
    h·w are exact and only a + h·t rounds (docs/quadrature.md, "Composite panels")."""
    nodes, weights, node_err, weight_err = [], [], [], []
    for p in panels:
        v = verified_rule(p.nodes)
        h = p.b - p.a
        lam = p.a + h * v.nodes
        nodes.append(lam)
        weights.append(h * v.weights)
        node_err.append(h * v.node_error + U * np.abs(lam))
        weight_err.append(h * v.weight_error)
    return Rule("gauss-legendre", np.concatenate(nodes), np.concatenate(weights), np.concatenate(node_err),
                np.concatenate(weight_err))
