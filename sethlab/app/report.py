"""The demo's output folder and its Markdown report (docs/design.md "Conventions": a table and plots in a folder).

`output_folder` builds the report in a hidden temporary folder beside the
destination and renames it into place only when everything is written, so a
failure never leaves a half-written report. `write_markdown` turns the
measurements of `sethlab.app.experiments` into report.md; the raw figures go to
results.json beside it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from sethlab.errors import InvalidInstance
from sethlab.jsonable import jsonable


@dataclass
class Folder:
    """Where files go now (`tmp`) and where they will be once the work succeeds (`final`)."""

    tmp: str
    final: str

    def path(self, name: str) -> str:
        return os.path.join(self.tmp, name)


def default_folder(prefix: str = "sethlab-demo", parent: str = ".") -> str:
    """`PREFIX-YYYYmmdd-HHMMSS` in `parent`, with -2, -3, ... when that name is taken."""
    base = os.path.join(parent, f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}")
    path, k = base, 1
    while os.path.exists(path):
        k += 1
        path = f"{base}-{k}"
    return os.path.abspath(path)


def _publish(tmp: str, final: str) -> str:
    """Rename the finished folder to `final`, or to `final-2`, `-3`, ... when another run took the name
    meanwhile (two demos started in the same second). Nothing is replaced; the path used is returned."""
    candidate, k = final, 1
    while True:
        if not os.path.lexists(candidate):
            try:
                os.rename(tmp, candidate)
                return candidate
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                    raise
        k += 1
        candidate = f"{final}-{k}"


@contextlib.contextmanager
def output_folder(path: str | None = None, prefix: str = "sethlab-demo"):
    """Yield a `Folder`; on success its temporary folder is renamed into place (`Folder.final` says where).

    An explicit `path` must not exist when the work starts; if another run creates it meanwhile,
    the finished report goes to `path-2` (never lost, never merged). The temporary folder is
    removed on any failure, Ctrl-C and SIGTERM included (the CLI turns SIGTERM into an exception).
    """
    final = os.path.abspath(path) if path is not None else default_folder(prefix)
    if os.path.lexists(final):
        raise InvalidInstance(f"out: {path} already exists; give a new folder (the report is written fresh)")
    parent = os.path.dirname(final)
    if not os.path.isdir(parent):
        raise InvalidInstance(f"out: parent folder {parent} does not exist")
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(final)}.", suffix=".tmp", dir=parent)
    folder = Folder(tmp, final)
    try:
        yield folder
        os.chmod(tmp, 0o755 & ~_umask())
        folder.final = _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str, payload) -> None:
    """results.json: strict JSON by the one rule of `sethlab.jsonable`."""
    with open(path, "w") as fh:
        json.dump(jsonable(payload), fh, indent=2, allow_nan=False)


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _yn(v) -> str:
    return "inconclusive" if v is None else ("YES" if v else "NO")


def approx_tables(results: dict) -> list[str]:
    """The sweep's tables: max error at the largest n against B/√ln n, and OV accuracy against n."""
    rows = results["rows"]
    n_max = max(results["sizes"])
    methods = sorted({r["method"] for r in rows})

    def fmt(x):
        return "refused" if x is None else (x if isinstance(x, str) else f"{x:.1e}")

    L = [f"Bounded entries uniform in [-B, B], d = 16; the largest entrywise error against exact attention "
         f"over {results['trials']} instances at n = {n_max}. The theory's threshold is B/sqrt(ln n) near 1.", ""]
    L += _table(["method"] + [f"B/sqrt(ln n) = {r:g}" for r in results["ratios"]],
                [[m] + [fmt(next(x["max_error"] for x in rows if x["method"] == m and x["n"] == n_max
                                  and x["family"] == "bounded" and x["ratio"] == r)) for r in results["ratios"]]
                 for m in methods])
    L += ["", "OV images (half planted, half certified no-pair): the share the reduction's decision rule answers "
          "correctly from the method's output, and the method's seconds per call against exact's.", ""]
    ov = [x for x in rows if x["family"] == "ov"]
    L += _table(["method"] + [f"n = {n}" for n in results["sizes"]] + [f"time / exact at n = {n_max}"],
                [[m] + [f"{x['accuracy']:.2f}" for n in results["sizes"] for x in ov if x["method"] == m and x["n"] == n]
                 + [_time_ratio(next(x for x in ov if x["method"] == m and x["n"] == n_max))] for m in methods])
    return L


def _time_ratio(row) -> str:
    return "refused" if not row["seconds"] else f"{row['seconds'] / row['exact_seconds']:.2f}"


def write_markdown(path: str, r: dict) -> None:
    """report.md: checks, the chain, quadrature, poly vs exact, the phase transition, and the plots."""
    L = ["# sethlab demo report", "",
         f"sethlab {r['version']}, seed {r['seed']}{', quick mode' if r['quick'] else ''}; "
         f"{r['seconds']:.1f} s on {r['machine'].get('cpus')} CPUs (Python {r['machine'].get('python')}, "
         f"numpy {r['machine'].get('numpy')}, torch {r['machine'].get('torch', 'not installed')}).", "",
         "Mathematics: the docs/ pages of the sethlab repository (cited below). Raw figures: `results.json`.", "",
         "## Checks", ""]
    L += _table(["", "check", "detail"],
                [[c["status"].upper(), c["check"], c["detail"]] for c in r["checks"]])
    counts = {s: sum(c["status"] == s for c in r["checks"]) for s in ("pass", "fail", "skip")}
    L += ["", f"{counts['pass']} of {counts['pass'] + counts['fail']} checks passed"
              + (f", {counts['skip']} skipped." if counts["skip"] else "."), ""]

    L += ["## SAT decided by gradient calls (docs/reductions.md §4.1, §5.1, docs/quadrature.md)", "",
          "Each formula goes SAT -> OV (split and list) -> attention (one zero anchor key, "
          "decided by ||T||_F^2) -> attention-loss gradient. Only the gradient calls decide: "
          "f(1) = f(0) + integral of f'(lambda), f' = 2 tr(grad L) at X = lambda I, by certified "
          "Gauss-Legendre. The SAT solver gives the truth.", ""]
    rows = []
    for c in r["chain"]:
        st = {s["stage"]: s for s in c["stages"]}
        ov, at = st.get("sat-to-ov", {}).get("sizes", {}), st.get("ov-to-attention", {})
        rows.append([c["label"], f"N={st['sat-solver']['sizes']['N']}, m={st['sat-solver']['sizes']['m']}",
                     f"{ov.get('nA')}x{ov.get('nB')}, d={ov.get('d')}",
                     f"nq={at.get('sizes', {}).get('nq')}, nk={at.get('sizes', {}).get('nk')}, B={at.get('B', 0):.1f}",
                     c["calls"], f"{c['margin']:.3g} / {c['error']:.3g}", _yn(c["answer"]), _yn(c["truth"]),
                     f"{c['seconds']:.2f}"])
    L += _table(["formula", "CNF", "OV", "attention", "gradient calls", "margin / certified error",
                 "answer", "SAT solver", "seconds"], rows)

    q = r["quadrature"]
    L += ["", "## Quadrature: error against oracle calls (docs/quadrature.md)", "",
          f"The first formula's attention image (nq = {q['sizes']['nq']}, nk = {q['sizes']['nk']}, "
          f"d = {q['sizes']['d']}); f(1) = {q['f1']:.6g}; the decision needs an error below the gap "
          f"{q['gap']:.3g}. The paper's rule uses ceil(ln^4 n) = {q['paper_points']} points.", ""]
    L += _table(["rule", "calls", "measured error", "certified bound"],
                [[x["rule"], x["calls"], f"{x['measured_error']:.2e}", f"{x['stated_bound']:.2e}"]
                 for x in q["rows"]])
    plan = [x for x in q["rows"] if x["rule"] == "certified plan"]
    planned = (f" The reduction's certified plan, Gauss-Legendre on {plan[0]['panels']} dyadic panels bounded from "
               f"the instance's scores (docs/quadrature.md, \"Composite panels\"), needs {plan[0]['calls']} calls."
               if plan else "")
    L += ["", "Gauss-Legendre converges exponentially; its one-panel certified bound (Bernstein ellipse, "
          "docs/quadrature.md) falls below the gap only after a few hundred calls." + planned + " The Riemann sum "
          "converges like 1/m and the bound the paper can state for it stays far above the gap: its error budget "
          "does not close (docs/misprints.md, misprint 8).", ""]

    L += ["## Polynomial method next to exact (docs/polynomial.md §3)", "",
          "Bounded instance: every entry uniform in [-1, 1] (R <= 1), certified eps as listed.", ""]
    L += _table(["problem", "n", "degree", "rank", "exact s", "poly s", "speedup", "measured error",
                 "certified bound"],
                [[x["problem"], x["n"], x["degree"], x["rank"], f"{x['exact_seconds']:.3f}",
                  f"{x['poly_seconds']:.3f}", f"{x['speedup']:.1f}x", f"{x['measured_error']:.1e}",
                  f"{x['error_bound']:.1e}"] for x in r["poly"]])

    L += ["", "## Rank phase transition (docs/polynomial.md §3.2)", "",
          "Certified degree g and rank C(d+g, g) for entries +-B, d = log2 n, eps = 1/n, "
          "bounds in exact arithmetic (the setting of the theorems). Below log_n(rank) = 1 the "
          "polynomial method has fewer features than keys; the theorems put the threshold at "
          "B = Theta(sqrt(ln n)).", ""]
    L += _table(["n", "d", "B / sqrt(ln n)", "B", "degree", "rank", "log_n(rank)"],
                [[x["n"], x["d"], f"{x['B_over_sqrt_ln_n']:.2f}", f"{x['B']:.2f}", x["degree"],
                  f"{x['rank']:.3g}", f"{x['rank_exponent']:.2f}"] for x in r["phase"]])

    if r.get("approx"):
        L += ["", "## Fast attention on the hard instances (docs/approx.md)", "",
              "A reduced `sethlab approx --sweep`: every method of sethlab.approx with its default parameters."]
        L += [""] + approx_tables(r["approx"])

    L += ["", "## Plots", ""]
    if r["plots"]:
        for name, title in (("phase_transition.png", "Rank phase transition"),
                            ("poly_vs_exact.png", "Poly and exact time against n"),
                            ("quadrature.png", "Quadrature error against oracle calls"),
                            ("approx_error.png", "Fast attention: error against B/sqrt(ln n)"),
                            ("approx_ov_accuracy.png", "Fast attention: accuracy on OV images")):
            if name in r["plots"]:
                L += [f"![{title}]({name})", ""]
    else:
        L += [f"No plots: {r['plots_missing']}.", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(L) + "\n")
