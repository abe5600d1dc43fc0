"""AAttLGC: the gradient of the attention loss, computed to a stated accuracy (docs/problems.md §2)."""

from __future__ import annotations

from sethlab.attention import GradientInstance, loss_gradient
from sethlab.reductions.problems import FileFormat, Problem
from sethlab.strategies import gradient_instances

PROBLEM = Problem(
    "attention-gradient", GradientInstance, lambda x: {"nq": x.nq, "nk": x.nk, "d": x.d, "dv": x.dv, "m": x.m},
    loss_gradient, decision=False,
    description="AAttLGC: approximate the gradient of the attention loss",
    file=FileFormat("npz", ("A1", "A2", "A3", "E", "X", "Y")),
    strategy=gradient_instances,
)
