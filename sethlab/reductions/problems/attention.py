"""AAttC: softmax attention D⁻¹exp(QKᵀ/d)V, computed to a stated accuracy (docs/problems.md §1)."""

from __future__ import annotations

from sethlab import generators as g
from sethlab.attention import AttentionInstance, attention
from sethlab.reductions.problems import Family, FileFormat, Param, Problem
from sethlab.strategies import attention_instances


def _bounded(a, seed):
    params = {"n": a["n"], "d": a["d"], "B": a["B"], "dv": a["dv"], "n_k": a["n_k"],
              "adversarial": a["adversarial"], "gradient": a["gradient"]}
    make = g.bounded_gradient if a["gradient"] else g.bounded_attention
    inst = make(a["n"], a["d"], a["B"], dv=a["dv"], n_k=a["n_k"], seed=seed, adversarial=a["adversarial"])
    return ("attention-gradient" if a["gradient"] else "attention"), inst, params, {}


PROBLEM = Problem(
    "attention", AttentionInstance, lambda x: {"nq": x.nq, "nk": x.nk, "d": x.d, "dv": x.dv}, attention,
    decision=False,
    description="AAttC: approximate D^-1 exp(QK^T/d) V entrywise",
    file=FileFormat("npz", ("Q", "K", "V")),
    strategy=attention_instances,
    families=(
        Family("attention", "bounded attention (or --gradient: loss-gradient) instance with entries at most B", (
            Param("--n", "int", "queries (and keys unless --n-k)", required=True),
            Param("--d", "int", "dimension", required=True),
            Param("--B", "float", "entry bound of Q and K (A1 X and A2)", required=True),
            Param("--dv", "int", "value dimension (default d)"),
            Param("--n-k", "int", "keys"),
            Param("--adversarial", "switch", "every entry of Q and K at +-B"),
            Param("--gradient", "switch", "a GradientInstance at X = I instead"),
        ), _bounded),
    ),
)
