"""`plan` (docs/polynomial.md §3): the worked numbers, the two regimes of the theorems, flops and the memory budget."""

import json
import math

import numpy as np
import pytest

import sethlab
import sethlab.attention as sa
from sethlab.attention import exp_poly, poly, poly_bounds, rounding
from sethlab.memory import ENV_VAR, MemoryBudgetExceeded, parse_budget
from sethlab.attention.ops import get_ops
from sethlab.attention.poly_bounds import CertificationError

N16 = 1 << 16


def signed(rng, n, d, B):
    return B * rng.choice([-1.0, 1.0], size=(n, d))


def worked_instance(n=N16, d=4, B=1.0, seed=0):
    """docs/polynomial.md §3.4's example: ‖A1‖∞ = ‖A2‖∞ = ‖h‖∞ = 1 (entries ±1, so R = 1), E = 0, dv = d."""
    rng = np.random.default_rng(seed)
    return sa.GradientInstance(
        signed(rng, n, d, B), signed(rng, n, d, B), signed(rng, n, d, 1.0), np.zeros((n, d)), np.eye(d), np.eye(d)
    )


@pytest.fixture(scope="module")
def worked():
    return worked_instance()


def test_worked_example_eta_and_taylor_degree(worked):
    sc = rounding.scales(worked)
    assert worked.score_range == pytest.approx(1.0, rel=1e-13) and worked.score_range >= 1.0
    assert sa.plan(worked, eps=1e-6).R == pytest.approx(1.0, rel=1e-11)
    layout = lambda r: sa.plan(worked, degree=1).block_rows  # noqa: E731
    # "η ≈ 1.5e-12": the largest η whose exact-arithmetic gradient bound meets 1e-6
    lo, hi = 0.0, 1e-9
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if poly_bounds._exact_arith_bound(sc, mid, False) <= 1e-6 else (lo, mid)
    assert lo == pytest.approx(1.5e-12, rel=0.05)
    # plain Taylor with float64 and every worst-case rounding: g = 15 certifies, g = 14 does not; rank 3,876
    assert poly_bounds.certify(exp_poly.taylor(15, 1.0), sc, "float64", layout).error_bound <= 1e-6
    assert poly_bounds.certify(exp_poly.taylor(14, 1.0), sc, "float64", layout).error_bound > 1e-6
    assert sa.plan(worked, eps=1e-6, degree=None).rank < 3876


def test_worked_example_floor_of_the_worst_case_rounding(worked):
    # float64 cannot certify the gradient at n = 2^16 below about 2.3e-7, whatever the degree (docs/rounding.md)
    with pytest.raises(CertificationError, match="worst-case rounding"):
        sa.plan(worked, eps=1e-7)
    assert sa.plan(worked, eps=1e-7, rounding=False).degree >= 12  # exact arithmetic: no floor


def test_worked_example_plan_picks_the_certified_chebyshev(worked):
    p = sa.plan(worked, method="poly", eps=1e-6)
    assert (p.kind, p.polynomial, p.degree, p.rank) == ("gradient", "chebyshev", 12, 1820)
    assert p.error_bound <= 1e-6
    # flops ≈ 4·n·r·(d+1)(dv+1) (docs/polynomial.md §3.4), exact ≈ 4(d+dv)n² plus its n² exponentials
    assert p.flops == pytest.approx(4 * N16 * 1820 * 25, rel=0.05)
    assert p.exact_flops == pytest.approx(2 * (2 * 4 + 2 * 4 + 2) * N16**2)
    assert p.exact_exps == N16**2
    assert 11 < p.flop_ratio < 14  # 154.6 GF against 12.2 GF


def test_plan_with_degree_reports_what_it_achieves(worked):
    p = sa.plan(worked, eps=None, degree=15)
    assert p.degree == 15 and p.rank == 3876 and p.eps is None
    assert p.error_bound < sa.plan(worked, degree=12).error_bound


def test_plan_is_json_friendly(worked):
    d = sa.plan(worked, eps=1e-6).to_dict()
    again = json.loads(json.dumps(d))
    assert again["rank"] == 1820 and again["fits"] is True
    assert len(again["coefficients"]) == 13
    assert set(again) >= {"degree", "rank", "polynomial", "eta", "error_bound", "flops", "bytes", "block_rows"}


@pytest.fixture(scope="module")
def regimes():
    """Planned rank at n = 2^16, d = 4, every entry at ±B with B² = f·ln n (exact arithmetic, docs/polynomial.md §3.2)."""
    out = {}
    rng = np.random.default_rng(1)
    for f in (0.25, 0.5, 1.0, 2.0, 4.0):
        B = math.sqrt(f * math.log(N16))
        A1, A2, A3 = signed(rng, N16, 4, B), signed(rng, N16, 4, B), signed(rng, N16, 4, 1.0)
        inst = sa.GradientInstance(A1, A2, A3, np.zeros((N16, 4)), np.eye(4), np.eye(4))
        assert inst.score_range == pytest.approx(B * B)
        out[f] = (inst, sa.plan(inst, eps=1e-6, rounding=False))
    return out


def test_two_regimes_of_the_planned_rank(regimes):
    ranks = {f: p.rank for f, (_, p) in regimes.items()}
    assert list(ranks.values()) == sorted(ranks.values())  # grows with B²
    assert ranks[0.25] < N16 / 5  # B² small against ln n: r = n^{o(1)}, well below n
    assert ranks[4.0] > 50 * N16  # B² = Θ(ln n): r = n^{Θ(1)}, past n² / n work
    assert ranks[1.0] > N16


def test_float64_cannot_certify_the_hard_regime(regimes):
    inst, _ = regimes[1.0]
    with pytest.raises(CertificationError, match="rounding"):
        sa.plan(inst, eps=1e-6)


def test_memory_budget_refuses_with_need_and_budget(worked):
    p = sa.plan(worked, eps=1e-6, memory_budget=10_000)
    assert not p.fits and p.memory_budget == 10_000
    with pytest.raises(MemoryBudgetExceeded, match=r"needs .*budget is 9\.8 KiB"):
        p.require_fits()
    small = worked_instance(n=500)
    with pytest.raises(MemoryBudgetExceeded):
        poly.loss_gradient_poly(small, get_ops("numpy"), eps=1e-6, memory_budget="8K")
    assert issubclass(MemoryBudgetExceeded, sethlab.InvalidInstance)


def test_memory_budget_shrinks_blocks_before_refusing(worked):
    big = sa.plan(worked, eps=1e-6)
    tight = sa.plan(worked, eps=1e-6, memory_budget=big.bytes - big.rank * 8 * 100)
    assert tight.fits and tight.block_rows < big.block_rows


def test_environment_variable_sets_the_budget(monkeypatch):
    rng = np.random.default_rng(0)
    inst = sa.AttentionInstance(rng.uniform(-1, 1, (300, 3)), rng.uniform(-1, 1, (300, 3)), rng.normal(size=(300, 2)))
    monkeypatch.setenv(ENV_VAR, "2K")
    assert sa.plan(inst, eps=1e-6).memory_budget == 2048
    with pytest.raises(MemoryBudgetExceeded, match="SETHLAB_MEMORY_BUDGET"):
        sa.attention(inst, method="poly", eps=1e-6)
    monkeypatch.setenv(ENV_VAR, "25%")
    assert sa.attention(inst, method="poly", eps=1e-6).rank > 1


@pytest.mark.parametrize("value", ["lots", -5, 0, True, float("nan"), "0", 0.25, "0.25B", "1e9", "120%",
                                   "0%", "8 G B", "-1G", "1_000", "１G", 2e9])
def test_bad_budgets_are_refused(value):
    with pytest.raises(sethlab.InvalidInstance, match="memory_budget"):
        parse_budget(value)


def test_budget_units():
    assert parse_budget("512M") == parse_budget("512MiB") == parse_budget("512mb") == 512 << 20
    assert parse_budget("1.5GiB") == 3 << 29
    assert parse_budget(123456) == parse_budget("123456") == 123456
    # one meaning each: "1", "1B" and "2B" are bytes; "all memory" is written "100%"
    assert parse_budget("1") == parse_budget("1B") == 1 and parse_budget("2B") == 2
    from sethlab.memory import available_bytes

    assert abs(parse_budget("100%") - available_bytes()) < 0.05 * available_bytes()


def test_plan_rejects_other_methods(worked):
    with pytest.raises(sethlab.InvalidInstance, match="method"):
        sa.plan(worked, method="exact", eps=1e-3)
