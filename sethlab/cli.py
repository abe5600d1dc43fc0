"""The `sethlab` command (DESIGN.md "Command line").

Exit codes: 0 success, 1 a check failed, 2 bad input or usage. A bad input is
one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

import sethlab
from sethlab.errors import InvalidInstance


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"sethlab: error: {message}\n")


def _cmd_demo(args) -> int:
    from sethlab.demo import run_demo

    return run_demo(n=args.n, d=args.d, seed=args.seed, as_json=args.json, out=sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="sethlab",
        description="Fine-grained complexity of attention: reductions, exact and polynomial-method solvers, checks.",
    )
    p.add_argument("--version", action="version", version=f"sethlab {sethlab.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = sub.add_parser("demo", help="the main job: a short tour, checked against independent methods")
    demo.add_argument("--n", type=int, default=4096, help="query and key count of the large instance")
    demo.add_argument("--d", type=int, default=16, help="dimension")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--json", action="store_true", help="print machine-readable results")
    demo.set_defaults(func=_cmd_demo)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InvalidInstance as exc:
        print(f"sethlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sethlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
