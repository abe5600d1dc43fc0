"""Plain-formula references for tests and benchmarks only: they form the whole nq×nk matrix.

`loss_gradient_autograd` is torch autograd on L(X) = ½‖softmax(A1 X A2ᵀ/d) A3 Y − E‖²
(docs/problems.md §2); `loss_gradient_flash` is the same loss through torch's fused
flash-attention kernel (no nq×nk matrix; the peer `bench/gradient.py` measures against);
`attention_naive` is numpy on Att = D⁻¹exp(QKᵀ/d)V (docs/problems.md §1).
"""

from __future__ import annotations

import numpy as np

from sethlab.attention.instances import AttentionInstance, GradientInstance
from sethlab.attention.ops import _import_torch


def attention_naive(inst: AttentionInstance) -> np.ndarray:
    """softmax(QKᵀ/d) V with the whole score matrix, float64."""
    s = inst.Q @ inst.K.T / inst.d
    s -= s.max(axis=1, keepdims=True)
    a = np.exp(s)
    return (a / a.sum(axis=1, keepdims=True)) @ inst.V


def loss_gradient_autograd(inst: GradientInstance, device="cpu", dtype="float64"):
    """(∂L/∂X, L) by torch autograd on the plain formula; returns numpy float64."""
    torch = _import_torch()
    dt = getattr(torch, str(dtype).replace("torch.", ""))
    A1, A2, A3, E, X, Y = (
        torch.tensor(np.array(getattr(inst, f)), dtype=dt, device=device) for f in ("A1", "A2", "A3", "E", "X", "Y")
    )
    X.requires_grad_(True)
    S = torch.softmax(A1 @ X @ A2.T / inst.d, dim=1)
    loss = 0.5 * ((S @ (A3 @ Y) - E) ** 2).sum()
    loss.backward()
    return X.grad.detach().to("cpu", torch.float64).numpy(), float(loss.detach())


def loss_gradient_flash(inst: GradientInstance, device="cpu", dtype="float64"):
    """(∂L/∂X, L) through `scaled_dot_product_attention` restricted to the FLASH backend (forward and backward
    fused, scale 1/d); raises where that kernel cannot run. The kernel wants one head width for q, k and v,
    so the narrower side is padded with zero columns (scores and outputs unchanged). Returns numpy float64."""
    torch = _import_torch()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dt = getattr(torch, str(dtype).replace("torch.", ""))
    A1, A2, A3, E, X, Y = (
        torch.tensor(np.array(getattr(inst, f)), dtype=dt, device=device) for f in ("A1", "A2", "A3", "E", "X", "Y")
    )
    X.requires_grad_(True)
    width = max(inst.d, inst.dv)

    def pad(M):
        return torch.nn.functional.pad(M, (0, width - M.shape[1]))[None, None]

    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        out = torch.nn.functional.scaled_dot_product_attention(
            pad(A1 @ X), pad(A2), pad(A3 @ Y), scale=1.0 / inst.d
        )[0, 0, :, : inst.dv]
        loss = 0.5 * ((out - E) ** 2).sum()
        loss.backward()
    return X.grad.detach().to("cpu", torch.float64).numpy(), float(loss.detach())
