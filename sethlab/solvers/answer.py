"""The answer of an exact decision solver (docs/design.md, "Problem")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """``yes``: the decision; ``witness``: a certificate for YES (None for NO)."""

    yes: bool
    witness: Any = None
