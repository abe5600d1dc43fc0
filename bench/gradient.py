"""Exact loss gradient (docs/problems.md §2.2): sethlab's streaming engine against torch autograd and the physical floor.

For (n, d) = (4096, 64) and (16384, 64), float64, prints our numpy (with numpy's
own kernels, and with torch's where torch is installed: SETHLAB_KERNELS) and torch-CPU
time and peak memory next to torch autograd's and torch's fused flash-attention
kernel's (`scaled_dot_product_attention`, FLASH backend, forward and backward),
and our time against the floor flops/GEMM-rate + n²/exp-rate with both rates
measured in this run; then one n = 65536 run with its peak RSS. Every measured
call runs in a fresh process.

    python bench/gradient.py [--quick] [--json out.json] [--device cuda] [--dtype float32]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _measure import (  # noqa: E402
    floor_seconds,
    machine,
    numpy_rates,
    reset_peak_rss,
    rss_bytes,
    run_worker,
    torch_rates,
    write_json,
)

GiB = 1 << 30


def make_instance(n: int, d: int, seed: int = 0):
    """A random instance with scores of order 1 (the one `sethlab bench` measures too)."""
    from sethlab.app.benchmarks import gaussian_gradient_instance

    return gaussian_gradient_instance(n, d, seed)


def worker(spec: dict) -> dict:
    """One measured call in this fresh process: warm up small, reset the peak, run, report."""
    import sethlab.attention as sa
    from sethlab.attention.reference import loss_gradient_autograd, loss_gradient_flash

    who, n, d, dtype, device = spec["who"], spec["n"], spec["d"], spec["dtype"], spec["device"]
    if who.startswith("numpy"):  # the kernels are fixed, not left to the warm-up's first pass
        os.environ["SETHLAB_KERNELS"] = "torch" if who == "numpy+tk" else "numpy"

    def call(inst):
        if who == "autograd":
            return loss_gradient_autograd(inst, device=device, dtype=dtype)[0]
        if who == "flash":
            return loss_gradient_flash(inst, device=device, dtype=dtype)[0]
        backend = "torch" if who.startswith("torch") else "numpy"  # numpy, numpy+tk
        dev = device if backend == "torch" else None
        return sa.loss_gradient(inst, backend=backend, device=dev, dtype=dtype).grad

    call(make_instance(256, d, seed=1))  # library start-up is not part of the measurement
    inst = make_instance(n, d)
    _ = inst.A1X, inst.h  # instance-side products belong to the setup
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = rss_bytes()
    peak_reset = reset_peak_rss()
    t0 = time.perf_counter()
    grad = call(inst)
    seconds = time.perf_counter() - t0
    out = {
        "who": who,
        "seconds": seconds,
        "rss_base_bytes": base,
        "rss_peak_bytes": rss_bytes("VmHWM"),
        "peak_reset": peak_reset,
        "grad_checksum": float(np.abs(grad).sum()),
    }
    out["extra_bytes"] = max(0, out["rss_peak_bytes"] - base) if peak_reset else None
    if device.startswith("cuda"):
        import torch

        out["cuda_peak_bytes"] = torch.cuda.max_memory_allocated()
    return out


def fmt_mem(b):
    return "   n/a" if b is None else f"{b / GiB:6.2f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--device", default="cpu", help="torch device for the torch rows (cpu, cuda)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    d = 64
    sizes = [512, 1024] if args.quick else [4096, 16384]
    big = 2048 if args.quick else 65536
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
    torch_name = "torch-" + args.device.split(":")[0]

    print(f"# exact loss gradient, d = dv = {d}, {args.dtype}; every row a fresh process")
    rates = {"numpy": numpy_rates()}
    if have_torch:
        rates[torch_name] = torch_rates(device=args.device, dtype=args.dtype)
    for k, r in rates.items():
        print(
            f"measured {k:10s}: GEMM {r['gemm_flops_per_s'] / 1e9:7.1f} GFLOP/s, exp {r['exp_per_s'] / 1e9:6.3f} G/s"
        )
    if have_torch:  # numpy+tk's floor: the better of each rate
        rates["numpy+tk"] = {k: max(rates["numpy"][k], rates[torch_name][k]) for k in rates["numpy"]}
    record = {"machine": machine(), "dtype": args.dtype, "d": d, "rates": rates, "rows": [], "big": None}
    who_list = ["numpy"] + (["numpy+tk", torch_name, "autograd", "flash"] if have_torch else [])
    print()
    print(f"{'n':>6} {'who':>10} {'time s':>8} {'vs autograd':>11} {'vs flash':>8} {'floor s':>8} {'vs floor':>8} "
          f"{'extra GiB':>9} {'peak GiB':>8} {'mem/autograd':>12}")
    for n in sizes:
        results = {}
        for who in who_list:
            spec = {"who": who, "n": n, "d": d, "dtype": args.dtype,
                    "device": "cpu" if who.startswith("numpy") else args.device}
            results[who] = run_worker(__file__, spec)
        ag = results.get("autograd", {})
        fa = results.get("flash", {})
        for who, res in results.items():
            if "error" in res:
                print(f"{n:>6} {who:>10} failed: {res['error']}")
                record["rows"].append({"n": n, **res, "who": who})
                continue
            rate_key = who if who.startswith("numpy") else torch_name
            fl = floor_seconds(n, d, d, rates[rate_key])
            row = dict(res, n=n, floor_seconds=fl, vs_floor=res["seconds"] / fl)
            if ag and "seconds" in ag:
                row["speedup_vs_autograd"] = ag["seconds"] / res["seconds"]
                if res.get("extra_bytes") and ag.get("extra_bytes"):
                    row["memory_vs_autograd"] = res["extra_bytes"] / ag["extra_bytes"]
            if fa and "seconds" in fa:
                row["speedup_vs_flash"] = fa["seconds"] / res["seconds"]
            record["rows"].append(row)
            sp = f"{row['speedup_vs_autograd']:10.2f}x" if "speedup_vs_autograd" in row else f"{'':>11}"
            sf = f"{row['speedup_vs_flash']:7.2f}x" if "speedup_vs_flash" in row else f"{'':>8}"
            mr = f"{row['memory_vs_autograd']:12.3f}" if "memory_vs_autograd" in row else f"{'':>12}"
            print(
                f"{n:>6} {who:>10} {res['seconds']:8.2f} {sp} {sf} {fl:8.2f} {row['vs_floor']:7.2f}x "
                f"{fmt_mem(res.get('extra_bytes')):>9} {fmt_mem(res['rss_peak_bytes']):>8} {mr}"
            )
    print()
    print(f"# one run at n = {big}, d = {d}: peak RSS of the whole process (target < 2 GiB)")
    record["big"] = []
    for who in ["numpy"] + (["numpy+tk", torch_name] if have_torch else []):
        spec = {"who": who, "n": big, "d": d, "dtype": args.dtype, "device": "cpu" if who.startswith("numpy") else args.device}
        res = run_worker(__file__, spec)
        if "error" in res:
            print(f"{big:>6} {who:>10} failed: {res['error']}")
            continue
        rate_key = who if who.startswith("numpy") else torch_name
        fl = floor_seconds(big, d, d, rates[rate_key])
        res.update(n=big, floor_seconds=fl, vs_floor=res["seconds"] / fl)
        record["big"].append(res)
        print(
            f"{big:>6} {who:>10} {res['seconds']:8.2f} s, floor {fl:7.2f} s ({res['vs_floor']:.2f}x), "
            f"peak RSS {res['rss_peak_bytes'] / GiB:.2f} GiB (base {res['rss_base_bytes'] / GiB:.2f} GiB)"
        )
    write_json(args.json, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
