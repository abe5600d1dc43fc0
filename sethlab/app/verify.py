"""`sethlab verify`: check registered reductions in parallel and print the reports (docs/decision.md)."""

from __future__ import annotations

import json
import sys
import time

from sethlab.jsonable import jsonable
from sethlab.reductions.verify import check


def _check_named(args):
    name, trials, seed = args
    return check(name, trials=trials, seed=seed)


def verify_command(names=None, *, trials: int = 20, seed: int = 0, as_json: bool = False, workers=None,
                   out=None) -> int:
    """`sethlab verify`: check the named reductions (all registered ones for None); 0 if all pass, 1 otherwise.

    Reductions are checked in parallel on `workers` (sethlab.executors; default all local cores).
    """
    from sethlab.executors import get_executor
    from sethlab.reductions.registry import get
    from sethlab.reductions.registry import names as all_names

    out = out or sys.stdout
    names = list(names) if names else all_names()
    for n in names:
        get(n)  # unknown names fail before any work
    executor = get_executor(workers if workers is not None else (None if len(names) > 1 else 1))
    t0 = time.perf_counter()
    reports = executor.map(_check_named, [(n, trials, seed) for n in names])
    total = time.perf_counter() - t0
    ok = all(r.ok for r in reports)
    if as_json:
        print(json.dumps(jsonable({"ok": ok, "seconds": total, "reports": [r.to_dict() for r in reports]})), file=out)
    else:
        for r in reports:
            print(r.summary(), file=out)
        print(f"{sum(r.ok for r in reports)} of {len(reports)} reductions passed every check "
              f"({total:.1f} s, {getattr(executor, 'workers', None) or 'remote'} workers)", file=out)
    return 0 if ok else 1
