"""PNG plots of the demo's measurements, drawn with matplotlib's Agg backend (optional extra `sethlab[plot]`).

Each function takes the plain data of `sethlab.app.experiments` and a path, and
writes one figure. `unavailable()` says why plots cannot be drawn here (None
when they can), so the report can state it instead of failing.
"""

from __future__ import annotations

import os


def unavailable() -> str | None:
    """None if matplotlib can draw here; otherwise the reason, for the report."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install 'sethlab[plot]')"
    except Exception as exc:  # a broken installation must not stop the demo
        return f"matplotlib cannot draw here ({type(exc).__name__}: {exc})"
    return None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return os.fspath(path)


def rank_phase_transition(rows: list[dict], path) -> str:
    """log_n(rank) against B/√ln n, one curve per n; the line rank = n marks where poly stops paying (docs/polynomial.md §3.2)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for n in sorted({r["n"] for r in rows}):
        pts = [r for r in rows if r["n"] == n]
        ax.plot([r["B_over_sqrt_ln_n"] for r in pts], [r["rank_exponent"] for r in pts], marker="o",
                label=f"n = 2^{n.bit_length() - 1}, d = {pts[0]['d']}")
    ax.axhline(1.0, color="gray", linestyle="--", linewidth=1)
    ax.text(ax.get_xlim()[0], 1.02, " rank = n", color="gray", va="bottom")
    ax.set_xlabel("B / sqrt(ln n)")
    ax.set_ylabel("log_n(rank)   (rank = C(d+g, g))")
    ax.set_title("Polynomial method: certified rank for eps = 1/n, d = log2 n")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def poly_vs_exact_times(rows: list[dict], path) -> str:
    """Exact and poly wall time against n, forward and gradient, on log-log axes (docs/problems.md §2.2, docs/polynomial.md §3.3-3.4)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {"forward": "o", "gradient": "s"}
    for problem in ("forward", "gradient"):
        pts = sorted((r for r in rows if r["problem"] == problem), key=lambda r: r["n"])
        if not pts:
            continue
        ns = [r["n"] for r in pts]
        ax.loglog(ns, [r["exact_seconds"] for r in pts], marker=styles[problem], color="C3",
                  label=f"exact {problem}")
        ax.loglog(ns, [r["poly_seconds"] for r in pts], marker=styles[problem], color="C0",
                  label=f"poly {problem} (rank {pts[-1]['rank']})")
    ax.set_xlabel("n (queries = keys)")
    ax.set_ylabel("seconds")
    d = rows[0]["d"] if rows else "?"
    eps = rows[0]["eps"] if rows else "?"
    ax.set_title(f"Poly vs exact, entries in [-1, 1], d = {d}, eps = {eps:g}")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return _save(fig, path)


def quadrature_error(sweep: dict, path) -> str:
    """Measured error of f(1) and each rule's stated bound against oracle calls (docs/quadrature.md)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    floor = 1e-16
    colors = {"gauss-legendre": "C0", "riemann": "C3"}
    names = {"gauss-legendre": "Gauss-Legendre, one panel", "riemann": "left Riemann (paper)"}
    for rule in ("gauss-legendre", "riemann"):
        pts = sorted((r for r in sweep["rows"] if r["rule"] == rule), key=lambda r: r["calls"])
        if not pts:
            continue
        calls = [r["calls"] for r in pts]
        ax.loglog(calls, [max(r["measured_error"], floor) for r in pts], marker="o", color=colors[rule],
                  label=f"{names[rule]}: measured")
        ax.loglog(calls, [max(r["stated_bound"], floor) for r in pts], linestyle="--", color=colors[rule],
                  label=f"{names[rule]}: certified bound")
    for r in (r for r in sweep["rows"] if r["rule"] == "certified plan"):
        ax.loglog([r["calls"]], [max(r["measured_error"], floor)], marker="*", markersize=12, color="C2",
                  linestyle="none", label=f"certified plan ({r['panels']} panels): measured")
        ax.loglog([r["calls"]], [max(r["stated_bound"], floor)], marker="_", markersize=16, color="C2",
                  linestyle="none", label="certified plan: certified bound")
    ax.axhline(sweep["gap"], color="black", linewidth=1)
    ax.text(1, sweep["gap"] * 1.3, " gap the decision needs", va="bottom")
    ax.axvline(sweep["paper_points"], color="gray", linestyle=":", linewidth=1)
    ax.text(sweep["paper_points"], ax.get_ylim()[0] * 10, " paper: ceil(ln^4 n)", color="gray", va="bottom",
            ha="right", rotation=90)
    s = sweep["sizes"]
    ax.set_xlabel("gradient (oracle) calls")
    ax.set_ylabel("|error of f(1)|")
    ax.set_title(f"f(1) from gradient calls, nq = {s['nq']}, nk = {s['nk']}, d = {s['d']}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, path)


def approx_error_vs_bound(results: dict, path) -> str:
    """Max error against exact vs B/√ln n, one panel per method, one curve per n; the theory's threshold
    B/√ln n ≈ 1 dashed (docs/approx.md, "The sweep")."""
    plt = _pyplot()
    rows = [r for r in results["rows"] if r["family"] == "bounded"]
    methods = sorted({r["method"] for r in rows})
    cols = 4
    fig, axes = plt.subplots(-(-len(methods) // cols), cols, figsize=(12, 3.2 * -(-len(methods) // cols)),
                             squeeze=False)
    for ax, m in zip(axes.flat, methods):
        for n in results["sizes"]:
            pts = [r for r in rows if r["method"] == m and r["n"] == n and isinstance(r["max_error"], float)]
            ax.plot([r["ratio"] for r in pts], [max(r["max_error"], 1e-17) for r in pts], marker="o",  # 0 at 1e-17
                    label=f"n = 2^{n.bit_length() - 1}")
        ax.axvline(1.0, color="gray", linestyle="--", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(results["ratios"]) / 1.3, max(results["ratios"]) * 1.3)
        ax.set_yscale("log")
        ax.set_title(m + (" (missing points: refused)" if m == "poly" else ""))
        ax.set_xlabel("B / sqrt(ln n)")
        ax.grid(alpha=0.3)
    axes.flat[0].set_ylabel("max |error| vs exact")
    axes.flat[0].legend(fontsize=7)
    for ax in list(axes.flat)[len(methods):]:
        ax.axis("off")
    return _save(fig, path)


def approx_ov_accuracy(results: dict, path) -> str:
    """Share of OV images decided correctly from each method's output, against n."""
    plt = _pyplot()
    rows = [r for r in results["rows"] if r["family"] == "ov"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, m in enumerate(sorted({r["method"] for r in rows})):
        pts = sorted((r["n"], r["accuracy"]) for r in rows if r["method"] == m)
        ax.plot([p[0] for p in pts], [p[1] + 0.01 * (i - 3) for p in pts], marker="o", label=m)
    ax.set_xscale("log", base=2)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("n")
    ax.set_ylabel("accuracy on OV images (offset slightly per method)")
    ax.set_title("Does the reduction still decide from the method's output?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
