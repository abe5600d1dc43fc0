"""The `sethlab` command (docs/design.md "Conventions").

    sethlab demo      the main job: the checked tour, written up in a fresh folder
    sethlab gen       instances of a family to a file (DIMACS or .npz), --seed everywhere
    sethlab reduce    apply the registered chain to a file, write the image
    sethlab solve     solve a file: exact solvers, or attention with --method/--backend
    sethlab verify    check registered reductions against ground truth
    sethlab chain     decide a CNF file along SAT → OV → attention → gradient, compare with the SAT solver
    sethlab graph     the reduction graph
    sethlab bench     benchmark ratios measured in one run

Exit codes: 0 success, 1 a check failed (a reduction or the demo disagreed with
ground truth), 2 bad input or usage. A bad file or argument is one line on
stderr, never a traceback. `--json` prints machine-readable results on stdout.
Long work shows a progress bar on a terminal (stderr) and nothing when piped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import warnings

import sethlab
from sethlab.errors import InvalidInstance, SethlabWarning
from sethlab.jsonable import jsonable
from sethlab.app.progress import Progress


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"sethlab: error: {message}\n")


# ---------------------------------------------------------------- argument types


def _int_at_least(low: int, what: str):
    """An argparse type: an integer >= low, with a one-line message otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be a {what} integer, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "positive")
_nonneg_int = _int_at_least(0, "non-negative")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def _probability(text: str) -> float:
    value = _positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1], got {text!r}")
    return value


def _emit(payload: dict) -> None:
    print(json.dumps(jsonable(payload), indent=2))


def _load(path: str):
    from sethlab import io

    return io.load(path)


def _sizes(problem: str, instance) -> dict:
    from sethlab.reductions.problems import get_problem

    return get_problem(problem).size(instance)


def _fmt_sizes(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


# ---------------------------------------------------------------- demo


def _cmd_demo(args) -> int:
    from sethlab.app.demo import run_demo

    return run_demo(out=args.out, n=args.n, d=args.d, seed=args.seed, quick=args.quick, as_json=args.json,
                    stream=sys.stdout)


# ---------------------------------------------------------------- gen

def _generate(args):
    """(family, problem, instance, params, extra) for the chosen family; params are what regenerates it."""
    from sethlab.reductions.problems import families

    _, fam = families()[args.family]
    problem, inst, params, extra = fam.make({p.dest: getattr(args, p.dest) for p in fam.params}, args.seed)
    return fam, problem, inst, params, extra


def _cmd_gen(args) -> int:
    from sethlab import io
    from sethlab._fs import check_output

    from sethlab.reductions.problems import families

    check_output(args.output)  # before generating: refuse a FIFO, a device or a link at once
    is_cnf = families()[args.family][0].file.kind == "dimacs"
    if is_cnf and args.output.lower().endswith(".npz"):
        raise InvalidInstance(f"-o: {args.output}: a {args.family} formula is written as DIMACS; use .cnf")
    if not is_cnf and not args.output.lower().endswith(".npz"):
        raise InvalidInstance(f"-o: {args.output}: a {args.family} instance is written as .npz; use .npz")
    with Progress(f"generating {args.family}"):
        _, problem, inst, params, extra = _generate(args)
    params = {"family": args.family, **params, **extra}
    io.save(args.output, inst, params=params, seed=args.seed)
    sizes = _sizes(problem, inst) if problem != "cnf-sat" else {"N": inst.nv, "m": len(inst.clauses)}
    if args.json:
        _emit({"path": os.path.abspath(args.output), "problem": problem, "family": args.family, "sizes": sizes,
               "params": params, "seed": args.seed})
    else:
        planted = f", planted pair {tuple(extra['planted_pair'])}" if "planted_pair" in extra else ""
        print(f"wrote {args.output}: {problem} ({args.family}), {_fmt_sizes(sizes)}, seed {args.seed}{planted}")
    return 0


# ---------------------------------------------------------------- reduce


def _default_image_path(src: str, target: str) -> str:
    stem = os.path.basename(src)
    for ext in (".npz", ".cnf", ".dimacs", ".txt"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return os.path.join(os.path.dirname(os.path.abspath(src)), f"{stem}.{target}.npz")


def _cmd_reduce(args) -> int:
    from sethlab import io
    from sethlab._fs import check_output
    from sethlab.reductions import path

    check_output(args.output or _default_image_path(args.file, args.to), [args.file])
    record = _load(args.file)
    reduction = path(record.problem, args.to)
    with Progress(f"reducing {record.problem} to {args.to}"):
        image = reduction.apply(record.instance)
    steps = list(getattr(reduction, "steps", [reduction]))
    provenance = list(record.provenance) + [s.name for s in steps]
    pred = image.prediction
    params = {"source": os.path.basename(args.file), "source_problem": record.problem,
              "source_sha256": record.sha256, "source_params": record.params, "reduction": reduction.name,
              "prediction": jsonable(pred.to_dict())}
    out = args.output or _default_image_path(args.file, args.to)
    io.save(out, image.target, params=params, seed=record.seed, provenance=provenance)
    sizes = _sizes(args.to, image.target)
    if args.json:
        _emit({"path": os.path.abspath(out), "problem": args.to, "sizes": sizes, "provenance": provenance,
               "prediction": pred.to_dict()})
        return 0
    print(f"wrote {out}: {args.to}, {_fmt_sizes(sizes)}")
    print(f"  chain: {' -> '.join([record.problem] + [s.target for s in steps])} "
          f"(by {' + '.join(s.name for s in steps)})")
    if pred.quantity != "answer":
        print(f"  prediction: entry bound B = {pred.entry_bound:.4g}; decide by {pred.quantity} against "
              f"{pred.threshold:.4g} (YES in [{pred.yes_range[0]:.4g}, {pred.yes_range[1]:.4g}], "
              f"NO in [{pred.no_range[0]:.4g}, {pred.no_range[1]:.4g}]); oracle accuracy {pred.accuracy:.3g}, "
              f"{pred.calls} call(s)")
    if reduction.turing:
        print("  the gradient instance is written at X = I (lambda = 1); deciding needs "
              f"{pred.calls} gradient calls at other lambda: use `sethlab chain` or `sethlab.decide`")
    return 0


# ---------------------------------------------------------------- solve


def _cmd_solve(args) -> int:
    from sethlab.reductions.problems import get_problem

    record = _load(args.file)
    problem = get_problem(record.problem)
    if problem.decision:
        if args.method != "exact" or args.backend != "numpy" or args.eps is not None or args.device or args.dtype:
            raise InvalidInstance(f"{args.file}: --method/--eps/--backend/--device/--dtype apply to attention "
                                  f"problems; {record.problem} is solved exactly")
        with Progress(f"solving {record.problem}"):
            broken = problem.promise_violation(record.instance)
            if broken:
                raise InvalidInstance(f"{args.file}: breaks the promise of {record.problem}: {broken}")
            answer = problem.solve(record.instance)
        witness = answer.witness
        if record.problem == "cnf-sat" and witness is not None:
            witness = [int(v) for v in witness]
        elif witness is not None:
            witness = [int(v) for v in witness]
        if args.json:
            _emit({"problem": record.problem, "answer": bool(answer.yes), "witness": witness})
        elif record.problem == "cnf-sat":
            print("SATISFIABLE" if answer.yes else "UNSATISFIABLE")
            if answer.yes:
                print("v " + " ".join(map(str, witness)) + " 0")
        else:
            what = "tuple" if len(witness or ()) > 2 else "pair"
            print(f"YES, {what} {tuple(witness)}" if answer.yes else "NO")
        return 0
    kwargs = {"method": args.method, "backend": args.backend, "eps": args.eps, "device": args.device,
              "dtype": args.dtype}
    if args.method == "poly" and args.eps is None:
        raise InvalidInstance("--eps: method poly needs the accuracy wanted, e.g. --eps 1e-6")
    with Progress(f"solving {record.problem} ({args.method}, {args.backend})"):
        res = problem.solve(record.instance, **kwargs)
    import numpy as np

    value = res.output if record.problem == "attention" else res.grad
    summary = {"problem": record.problem, "method": res.method, "backend": res.backend, "device": res.device,
               "dtype": res.dtype, "shape": list(value.shape), "max_abs": float(np.abs(value).max()),
               "frobenius_sq": float(np.sum(value * value)), "error_bound": res.error_bound, "rank": res.rank,
               "degree": res.degree, "seconds": res.seconds}
    if record.problem == "attention-gradient":
        summary["loss"] = res.loss
        summary["trace"] = float(np.trace(value))
    if args.json:
        summary["value"] = value.tolist() if value.size <= args.max_values else None
        _emit(summary)
        return 0
    what = "attention output" if record.problem == "attention" else "loss gradient"
    poly = f", degree {res.degree}, rank {res.rank}" if res.rank is not None else ""
    print(f"{what} {value.shape[0]}x{value.shape[1]} by {res.method} on {res.backend} ({res.dtype}{poly}) "
          f"in {res.seconds:.3f} s")
    print(f"  certified error bound {res.error_bound:.3g}; max |entry| {summary['max_abs']:.6g}; "
          f"sum of squares {summary['frobenius_sq']:.10g}" + (f"; loss {res.loss:.10g}" if "loss" in summary else ""))
    return 0


# ---------------------------------------------------------------- verify


def _cmd_verify(args) -> int:
    from sethlab.app.verify import verify_command

    if not args.names and not args.all:
        raise InvalidInstance("verify: name one or more reductions, or --all (see `sethlab graph`)")
    if args.names and args.all:
        raise InvalidInstance("verify: give reduction names or --all, not both")
    with Progress("verifying " + ("every reduction" if args.all else ", ".join(args.names))):
        return verify_command(None if args.all else args.names, trials=args.trials, seed=args.seed,
                              as_json=args.json, workers=args.workers, out=sys.stdout)


# ---------------------------------------------------------------- chain


def _cmd_chain(args) -> int:
    record = _load(args.file)
    if record.problem != "cnf-sat":
        raise InvalidInstance(f"{args.file}: holds an instance of {record.problem}; chain starts from a CNF "
                              f"(DIMACS) file (use `sethlab verify` or `sethlab solve` for other problems)")
    with Progress(f"deciding {args.file} via {args.to}") as bar:
        dec = sethlab.decide(record.instance, via=args.to, method=args.method, backend=args.backend,
                             device=args.device, dtype=args.dtype, rule=args.rule, nodes=args.nodes,
                             certified=not args.uncertified,
                             progress=lambda stage, done, total: bar.update(f"{args.file}: {stage}", done, total))
    wrong = dec.answer is not None and dec.answer != dec.truth
    if args.json:
        _emit(dec.to_dict())
        return 1 if wrong else 0
    print(f"  {'stage':22s} {'sizes':44s} {'B':>8s} {'seconds':>8s}")
    for s in dec.stages:
        b = "" if s.get("B") is None else f"{s['B']:.4g}"
        print(f"  {s['stage']:22s} {_fmt_sizes(s['sizes']):44s} {b:>8s} {s['seconds']:8.3f}")
    said = {None: "INCONCLUSIVE", True: "SAT", False: "UNSAT"}[dec.answer]
    print(f"answer via {args.to}: {said} ({dec.calls} oracle calls; {dec.reason})")
    print(f"SAT solver: {'SAT' if dec.truth else 'UNSAT'}")
    if wrong:
        print("MISMATCH: the chain disagrees with the SAT solver", file=sys.stderr)
    elif dec.answer is None:
        print("the margin did not exceed the certified error, so no answer is claimed (try more --nodes or the "
              "default certified Gauss-Legendre rule)")
    else:
        print("match")
    return 1 if wrong else 0


# ---------------------------------------------------------------- graph

EXAMPLE_CNF = {"N": 20, "m": 85}


def _example_sizes(g) -> dict:
    """Sizes at each problem for a 20-variable 3-CNF with 85 clauses, along the first chain that reaches it."""
    import networkx as nx

    sizes = {"cnf-sat": dict(EXAMPLE_CNF)}
    for a, b in nx.bfs_edges(g, "cnf-sat"):
        try:
            sizes[b] = g.edges[a, b]["overhead"](sizes[a])
        except (KeyError, TypeError):
            continue
    return sizes


def _edge_example(g, sizes: dict, a: str, b: str):
    """The edge's overhead formula applied to the example size at its source (None where it does not apply)."""
    if a not in sizes:
        return None
    try:
        return g.edges[a, b]["overhead"](sizes[a])
    except (KeyError, TypeError):
        return None


def _param(text: str) -> tuple[str, object]:
    """NAME=VALUE for --param: VALUE read as an int, else a float, else true/false/none, else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"must be NAME=VALUE, got {text!r}")
    for conv in (int, float):
        try:
            return name, conv(value)
        except ValueError:
            pass
    return name, {"true": True, "false": False, "none": None}.get(value.lower(), value)


def _cmd_approx(args) -> int:
    if args.sweep:
        from sethlab.app.approx_sweep import run_sweep
        from sethlab.app.report import approx_tables

        if args.method is not None:
            raise InvalidInstance("method: --sweep runs every method; give no METHOD with it")
        results, folder = run_sweep(args.out, quick=args.quick, trials=args.trials or 2, seed=args.seed)
        if args.json:
            _emit(dict(results, folder=folder))
        else:
            print("\n".join(approx_tables(results)))
            print(f"report written to {folder}")
        return 0
    from sethlab.approx import evaluate

    if args.method is None:
        raise InvalidInstance("method: give a METHOD (see sethlab approx --help) or --sweep")
    if args.n is None:
        raise InvalidInstance("n: give --n N (the number of queries and keys)")
    for flag in ("out", "quick"):
        if getattr(args, flag):
            raise InvalidInstance(f"{flag}: only --sweep takes --{flag}")
    params = dict(args.param or [])
    with Progress(f"sethlab approx {args.method}") as bar:
        rep = evaluate(args.method, args.family, args.n, args.trials or 4, args.seed, args.ratio, method_params=params,
                       progress=lambda done, total: bar.update(f"sethlab approx {args.method}", done, total))
    if args.json:
        _emit(rep.to_dict())
    else:
        print(rep.summary())
        for r in rep.rows:
            verdict = "" if r.truth is None else (f"truth {'YES' if r.truth else 'NO'}, answer "
                                                  f"{'-' if r.answer is None else ('YES' if r.answer else 'NO')}: ")
            err = ("refused: " + r.refused if r.refused else f"max error {r.max_error:.3g}, {r.seconds:.3g} s")
            print(f"  trial {r.index} (seed {r.seed}): {verdict}{err}")
    return 0


def _cmd_graph(args) -> int:
    from sethlab.reductions import graph
    from sethlab.reductions.problems import problems

    g = graph()
    probs = problems()
    example = _example_sizes(g)
    nodes = [{"problem": n, "description": probs[n].description if n in probs else ""} for n in g.nodes]
    edges = [{"source": a, "target": b, "reductions": [r.name for r in data["reductions"]],
              "turing": any(r.turing for r in data["reductions"]),
              "example_target_sizes": _edge_example(g, example, a, b)}
             for a, b, data in g.edges(data=True)]
    if args.json:
        _emit({"nodes": nodes, "edges": edges, "example_source": {"cnf-sat": EXAMPLE_CNF}})
        return 0
    print("problems:")
    for n in nodes:
        print(f"  {n['problem']:20s} {n['description']}")
    print("reductions (source -> target: names; target sizes for a 3-CNF with N=20, m=85 along the chain):")
    for e in edges:
        kind = " (Turing: many oracle calls)" if e["turing"] else ""
        ex = e["example_target_sizes"]
        ex_s = f"  e.g. {_fmt_sizes({k: v for k, v in ex.items() if v is not None})}" if ex else ""
        print(f"  {e['source']} -> {e['target']}: {', '.join(e['reductions'])}{kind}{ex_s}")
    return 0


# ---------------------------------------------------------------- bench


def _cmd_bench(args) -> int:
    from sethlab.app.benchmarks import BENCH_STEPS, run_bench

    with Progress("sethlab bench", total=BENCH_STEPS) as bar:
        record = run_bench(quick=args.quick, progress=bar)
    if args.json:
        _emit(record)
        return 0
    r = record["rates"]["numpy"]
    print(f"sethlab bench{' --quick' if args.quick else ''}: ratios measured in this run (float64, numpy)")
    print(f"  measured rates: GEMM {r['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s, exp {r['exp_per_s'] / 1e9:.3f} G/s")
    e = record["exact_gradient"]
    print(f"  exact loss gradient, n = {e['n']}, d = dv = {e['d']}: {e['seconds']:.3f} s, "
          f"{e['vs_floor']:.2f}x the floor of docs/problems.md §2.2 ({e['floor_seconds']:.3f} s)")
    if "speedup_vs_autograd" in e:
        print(f"    vs torch autograd: {e['speedup_vs_autograd']:.2f}x faster "
              f"(relative difference {e['max_rel_diff_vs_autograd']:.1e})")
    else:
        print("    torch autograd: skipped (torch not installed)")
    for p in record["poly_vs_exact"]:
        print(f"  poly vs exact {p['problem']:8s} n = {p['n']}, d = {p['d']}, eps = {p['eps']:g}: "
              f"{p['speedup']:.1f}x faster (flop ratio {p['flop_ratio']:.1f}x, degree {p['degree']}, rank {p['rank']}); "
              f"error {p['measured_error']:.1e} <= bound {p['error_bound']:.1e}: {p['within_bound']}")
    return 0


# ---------------------------------------------------------------- parser


_KINDS = {"int": _positive_int, "count": _nonneg_int, "float": _positive_float, "probability": _probability}


def _families():
    from sethlab.reductions.problems import families

    return families()


def _add_param(parser, p) -> None:
    """One family parameter as an argparse option (the problem records declare them)."""
    if p.kind == "switch":
        parser.add_argument(p.flag, action="store_true", help=p.help or None)
    elif p.kind == "choice":
        parser.add_argument(p.flag, choices=list(p.choices), default=p.default, help=p.help or None)
    else:
        parser.add_argument(p.flag, type=_KINDS[p.kind], default=p.default, required=p.required, help=p.help or None)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sethlab",
                description="Fine-grained complexity of attention: reductions, exact and polynomial-method "
                            "solvers, checks. Exit codes: 0 success, 1 a check failed, 2 bad input or usage.")
    p.add_argument("--version", action="version", version=f"sethlab {sethlab.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, func, help_):
        c = sub.add_parser(name, help=help_, description=help_)
        c.set_defaults(func=func)
        return c

    def json_flag(c):
        c.add_argument("--json", action="store_true", help="print machine-readable results on stdout")

    c = command("demo", _cmd_demo, "the main job: SAT -> OV -> attention -> gradient decided and checked, poly next "
                                   "to exact, a report with plots in a fresh folder")
    c.add_argument("--out", metavar="DIR", help="report folder (must not exist; default sethlab-demo-<timestamp>)")
    c.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds; for tests)")
    c.add_argument("--n", type=_positive_int, default=2048, help="row count of the exact-engine check (default 2048)")
    c.add_argument("--d", type=_positive_int, default=16, help="dimension of the exact-engine check (default 16)")
    c.add_argument("--seed", type=_nonneg_int, default=0)
    json_flag(c)

    c = command("gen", _cmd_gen, "generate an instance to a file (DIMACS for formulas, .npz otherwise)")
    fams = c.add_subparsers(dest="family", metavar="FAMILY", parser_class=_Parser, required=True)

    for _, (_, fam) in _families().items():
        f = fams.add_parser(fam.name, help=fam.help, description=fam.help)
        f.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write (atomically)")
        f.add_argument("--seed", type=_nonneg_int, default=0, help="the same seed gives a byte-identical file")
        json_flag(f)
        for param in fam.params:
            _add_param(f, param)

    c = command("reduce", _cmd_reduce, "apply the registered chain of reductions to a file and write the image")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--to", required=True, metavar="PROBLEM",
                   help="target problem: ov, hamming-close-pair, attention, attention-gradient")
    c.add_argument("-o", "--output", metavar="FILE", help="default: FILE's stem + .PROBLEM.npz beside it")
    json_flag(c)

    c = command("solve", _cmd_solve, "solve an instance file: exact solvers, or attention with a backend")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--method", choices=["exact", "poly"], default="exact")
    c.add_argument("--eps", type=_positive_float, help="accuracy for --method poly (entrywise, certified)")
    c.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    c.add_argument("--device", help="torch device: cpu, cuda, cuda:1, ...")
    c.add_argument("--dtype", choices=["float64", "float32"])
    c.add_argument("--max-values", type=_nonneg_int, default=10000, help=argparse.SUPPRESS)
    json_flag(c)

    c = command("verify", _cmd_verify, "check registered reductions against ground truth (docs/decision.md)")
    c.add_argument("names", nargs="*", metavar="REDUCTION", help="reduction names (see `sethlab graph`)")
    c.add_argument("--all", action="store_true", help="every registered reduction")
    c.add_argument("--trials", type=_positive_int, default=20)
    c.add_argument("--seed", type=_nonneg_int, default=0)
    c.add_argument("--workers", type=_positive_int, help="parallel workers (default: all local cores)")
    json_flag(c)

    c = command("chain", _cmd_chain, "decide a CNF file along SAT -> OV -> attention -> gradient and compare with "
                                     "the SAT solver")
    c.add_argument("file", metavar="FILE", help="a DIMACS file")
    c.add_argument("--to", choices=["ov", "attention", "attention-gradient"], default="attention-gradient",
                   help="the stage that decides (default attention-gradient)")
    c.add_argument("--method", choices=["exact", "poly"], default="exact")
    c.add_argument("--backend", choices=["numpy", "torch"], default="numpy")
    c.add_argument("--device")
    c.add_argument("--dtype", choices=["float64", "float32"])
    c.add_argument("--rule", choices=["gauss-legendre", "riemann"], default="gauss-legendre")
    c.add_argument("--nodes", type=_positive_int, help="quadrature nodes (default: certified count, or ln^4 n "
                                                       "for riemann)")
    c.add_argument("--uncertified", action="store_true", help="adaptive Gauss-Legendre: fewer calls; the estimate is reported but only the certified bound at the final node count decides")
    json_flag(c)

    c = command("approx", _cmd_approx, "score a fast-attention method on bounded instances or the reductions' "
                                       "images (docs/approx.md); --sweep: every method, plots and tables")
    c.add_argument("method", nargs="?", metavar="METHOD",
                   help="exact, poly, performer, taylor, nystrom, lsh, topk, or module:function")
    c.add_argument("--family", choices=["bounded", "ov", "gap-hamming"], default="ov")
    c.add_argument("--n", type=_positive_int, help="queries and keys (OV and Hamming vectors per side)")
    c.add_argument("--ratio", type=_positive_float, help="bounded family: B = RATIO * sqrt(ln n)")
    c.add_argument("--trials", type=_positive_int, help="instances (default 4; --sweep: 2 per point)")
    c.add_argument("--seed", type=_nonneg_int, default=0)
    c.add_argument("--param", type=_param, action="append", metavar="NAME=VALUE",
                   help="a method parameter, e.g. --param features=128 (repeatable)")
    c.add_argument("--sweep", action="store_true", help="every method: error against B/sqrt(ln n) for "
                                                        "n = 2^10..2^13, accuracy on OV images; PNGs and tables")
    c.add_argument("--out", metavar="DIR", help="--sweep: report folder (must not exist)")
    c.add_argument("--quick", action="store_true", help="--sweep: small sizes (seconds)")
    json_flag(c)

    c = command("graph", _cmd_graph, "the reduction graph: problems, reductions, example sizes")
    json_flag(c)

    c = command("bench", _cmd_bench, "benchmark ratios measured in one run (exact vs autograd and the floor, "
                                     "poly vs exact)")
    c.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    json_flag(c)
    return p


def _oserror_line(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{name}: {reason}" if name else reason


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        print("sethlab: error: a command is required: demo, gen, reduce, solve, verify, chain, approx, graph or bench "
              "(see sethlab --help)", file=sys.stderr)
        return 2
    previous = _on_sigterm()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", SethlabWarning)
            warnings.showwarning = _warning_line
            return int(args.func(args) or 0)
    except Terminated:
        print("sethlab: terminated (SIGTERM); temporary files removed", file=sys.stderr)
        return 128 + signal.SIGTERM
    except InvalidInstance as exc:
        print(f"sethlab: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # output piped into `head` and closed: not an error
            return 0
        print(f"sethlab: error: {_oserror_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sethlab: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _warning_line(message, category, filename, lineno, file=None, line=None):
    """A warning is one line on stderr, like an error, without file and line of the source."""
    print(f"sethlab: warning: {message}", file=sys.stderr)


class Terminated(BaseException):
    """SIGTERM as an exception, so every `finally` and `except BaseException` cleanup runs (as on Ctrl-C)."""


def _raise_terminated(signum, frame):
    raise Terminated()


def _on_sigterm():
    """Install the SIGTERM handler (main thread only); the previous handler, or None."""
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        return None


if __name__ == "__main__":
    sys.exit(main())
