"""Attention and attention-gradient instances and their backends (docs/problems.md §1, §2, docs/polynomial.md §3).

    attention(inst, method="exact"|"poly", backend="numpy"|"torch", eps=None, device=None, dtype=None)
    loss_gradient(inst, ...)
    loss(inst, ...)                 L(X) alone, by the forward engine
    plan(inst, method="poly", eps=...)
"""

from sethlab.attention.api import attention, loss, loss_gradient, plan
from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.results import AttentionResult, GradientResult

__all__ = [
    "AttentionInstance",
    "GradientInstance",
    "AttentionResult",
    "GradientResult",
    "attention",
    "loss",
    "loss_gradient",
    "plan",
]
