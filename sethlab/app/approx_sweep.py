"""`sethlab approx --sweep`: every method of sethlab.approx against B/√ln n on bounded instances and
against n on the OV images, written as PNGs, report.md and results.json into a fresh folder that
appears only once complete (docs/approx.md, "The sweep")."""

from __future__ import annotations

import time

import sethlab
from sethlab.app import plots
from sethlab.app.benchmarks import machine
from sethlab.app.progress import Progress
from sethlab.app.report import approx_tables, output_folder, write_json

SIZES = [2**10, 2**11, 2**12, 2**13]
RATIOS = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0]
QUICK_SIZES = [2**7, 2**8]
QUICK_RATIOS = [0.25, 1.0, 4.0]


def sweep(sizes=None, ratios=None, trials: int = 2, seed: int = 0, quick: bool = False, progress=None) -> dict:
    """The measurements of the sweep (plain data): one row per (method, family, n[, ratio])."""
    from sethlab.approx import evaluate_many, get, names

    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    ratios = ratios or (QUICK_RATIOS if quick else RATIOS)
    methods = {name: (get(name), {}) for name in names()}
    total = len(sizes) * (len(ratios) + 1)
    done = 0
    rows = []
    for n in sizes:
        for family, ratio in [("bounded", r) for r in ratios] + [("ov", None)]:
            reports = evaluate_many(methods, family, n, max(trials, 2) if family == "ov" else trials, seed, ratio)
            for name, rep in reports.items():
                row = rep.to_dict()
                row.pop("rows")
                row["ratio"] = ratio
                rows.append(row)
            done += 1
            if progress is not None:
                progress(done, total)
    return {"sizes": list(sizes), "ratios": list(ratios), "trials": trials, "seed": seed, "rows": rows,
            "parameters": {name: _defaults(name) for name in methods}}


def _defaults(name: str) -> dict:
    from sethlab.approx import parameters

    return {k: v for k, v in parameters(name).items() if k not in ("memory_budget", "device", "backend")}


def draw(folder, results) -> tuple[list[str], str | None]:
    """The sweep's two plots into `folder`: (file names, None), or ([], why plots cannot be drawn here)."""
    why = plots.unavailable()
    if why is not None:
        return [], why
    plots.approx_error_vs_bound(results, folder.path("approx_error.png"))
    plots.approx_ov_accuracy(results, folder.path("approx_ov_accuracy.png"))
    return ["approx_error.png", "approx_ov_accuracy.png"], None


def run_sweep(out: str | None = None, quick: bool = False, trials: int = 2, seed: int = 0) -> tuple[dict, str]:
    """Measure, draw and write the folder; returns (results, the folder's final path)."""
    t0 = time.perf_counter()
    with output_folder(out, prefix="sethlab-approx") as folder, Progress("sethlab approx --sweep") as bar:
        results = sweep(trials=trials, seed=seed, quick=quick,
                        progress=lambda done, total: bar.update("sethlab approx --sweep", done, total))
        results.update(version=sethlab.__version__, machine=machine(), quick=quick)
        results["plots"], results["plots_missing"] = draw(folder, results)
        results["seconds"] = time.perf_counter() - t0
        lines = ["# sethlab.approx: fast attention on the hard instances (docs/approx.md)", ""] + approx_tables(results)
        if results["plots_missing"]:
            lines += ["", f"No plots: {results['plots_missing']}."]
        else:
            lines += ["", "![error against B](approx_error.png)", "", "![OV accuracy](approx_ov_accuracy.png)"]
        with open(folder.path("report.md"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        write_json(folder.path("results.json"), results)
    return results, folder.final

