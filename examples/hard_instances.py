"""Generate a hard instance set to files, with ground truth and provenance (docs/reductions.md §4-5, docs/design.md "Conventions").

Writes, into a new folder:

- CNF (DIMACS): random 3-CNF at the satisfiability threshold m = 4.26 N (several
  seeds), pigeonhole and Tseitin formulas (unsatisfiable, hard for resolution);
- OV (.npz): planted (one orthogonal pair) and certified no-pair instances with
  d = 2 log2 n, the regime of the OV conjecture;
- planted Gap-Hamming (.npz): the source of the B = Theta(sqrt(log n)) regime
  (planted, so its SETH-hardness is *not* certified, docs/reductions.md §4.2);
- their attention images through the registered reductions, each file's
  metadata naming the chain that produced it (provenance);
- manifest.json: every file with its problem, sizes, seed, SHA-256 and the
  ground truth from the exact solvers.

The same seeds give byte-identical files (sethlab generators and sethlab.io).

    python examples/hard_instances.py OUT_DIR [--quick] [--seed S]
"""

import argparse
import json
import math
import os
import sys

from sethlab import generators as g
from sethlab import io
from sethlab.reductions import path
from sethlab.reductions.problems import get_problem


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder to create (must not exist)")
    ap.add_argument("--quick", action="store_true", help="small sizes (for CI)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if os.path.exists(args.out):
        print(f"hard_instances: {args.out} already exists; give a new folder", file=sys.stderr)
        return 2
    os.makedirs(args.out)
    manifest = []

    def write(name, problem, inst, params, seed, provenance=()):
        file = os.path.join(args.out, name)
        io.save(file, inst, params=params, seed=seed, provenance=provenance)
        rec = io.load(file)  # read back: the hash and format are checked on every load
        prob = get_problem(problem)
        entry = {"file": name, "problem": problem, "sizes": prob.size(rec.instance), "seed": seed,
                 "params": params, "provenance": list(provenance), "sha256": rec.sha256}
        if prob.decision:
            entry["truth"] = bool(prob.solve(rec.instance).yes)
        manifest.append(entry)
        truth = "" if "truth" not in entry else f"  truth: {'YES' if entry['truth'] else 'NO'}"
        print(f"  {name:34s} {problem:20s} {entry['sizes']}{truth}")
        return rec.instance

    s = args.seed
    N = 14 if args.quick else 24
    print(f"writing to {args.out}")
    for k in range(2 if args.quick else 5):
        m = round(4.26 * N)
        write(f"3cnf-N{N}-seed{s + k}.cnf", "cnf-sat", g.random_kcnf(N, m, 3, seed=s + k),
              {"family": "kcnf", "n_vars": N, "n_clauses": m, "k": 3}, s + k)
    holes = 4 if args.quick else 7
    write(f"pigeonhole-{holes}.cnf", "cnf-sat", g.pigeonhole(holes, seed=s), {"family": "pigeonhole", "n_holes": holes}, s)
    verts = 8 if args.quick else 16
    write(f"tseitin-{verts}.cnf", "cnf-sat", g.random_tseitin(verts, 3, seed=s),
          {"family": "tseitin", "n_vertices": verts, "degree": 3}, s)

    n = 64 if args.quick else 1024
    d = round(2 * math.log2(n))
    ov_yes, pair = g.planted_ov(n, d, seed=s)
    ov_yes = write(f"ov-planted-n{n}.npz", "ov", ov_yes, {"family": "ov", "n": n, "d": d, "planted_pair": list(pair)}, s)
    ov_no = write(f"ov-nopair-n{n}.npz", "ov", g.no_pair_ov(n, d, seed=s), {"family": "ov", "n": n, "d": d}, s)
    hd = 40 if args.quick else 64
    gh, gpair = g.planted_gap_hamming(n, hd, 3, 2 / 3, seed=s)
    gh = write(f"gap-hamming-n{n}.npz", "hamming-close-pair", gh,
               {"family": "gap-hamming", "n": n, "d": hd, "t": 3, "gap": 2 / 3, "planted_pair": list(gpair)}, s)

    for src_name, problem, inst in (("ov-planted", "ov", ov_yes), ("ov-nopair", "ov", ov_no),
                                    ("gap-hamming", "hamming-close-pair", gh)):
        red = path(problem, "attention")
        image = red.apply(inst)
        steps = [st.name for st in getattr(red, "steps", [red])]
        write(f"{src_name}-n{n}.attention.npz", "attention", image.target,
              {"source": f"{src_name}-n{n}.npz", "entry_bound": image.prediction.entry_bound,
               "threshold": image.prediction.threshold, "quantity": image.prediction.quantity}, s, steps)

    with open(os.path.join(args.out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
    print(f"{len(manifest)} files and manifest.json in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
