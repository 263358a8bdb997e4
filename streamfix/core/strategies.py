"""Prompt strategies: named variants of the analysis request, compared by A/B (``fix_prompt_strategies``).

Each strategy adds one trusted instruction after the prompt built by
the fixer's prompt builder; ``default`` adds nothing. A pattern's strategy is its arm
by a stable hash of the fingerprint (:func:`strategy_for`), salted so that it does not coincide with
the model arm. The strategy is recorded on the fix (``FixResult.strategy``) and the effectiveness
report compares the arms.
"""

from __future__ import annotations

from collections.abc import Sequence

from streamfix.core.effectiveness import arm_for

STRATEGIES: dict[str, str] = {
    "default": "",
    "minimal": ("Prefer the smallest change that removes the root cause: touch as few lines as possible and "
                "do not refactor."),
    "defensive": ("Prefer a change that validates the failing input where it enters the function and handles "
                  "the bad case explicitly, rather than only changing the failing expression."),
    "root-cause": ("Fix the cause where the bad value is produced, not where it is used, even when that is "
                   "in an outer frame of the traceback."),
}


def check(names: Sequence[str]) -> list[str]:
    """The configured names, checked against :data:`STRATEGIES` (ValueError for an unknown one)."""
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown prompt strategies {unknown}; known: {sorted(STRATEGIES)}")
    return list(names)


def strategy_for(fingerprint: str, names: Sequence[str]) -> str:
    """The pattern's strategy arm (``default`` when none are configured)."""
    return arm_for(f"strategy:{fingerprint}", names) if names else "default"


def apply_strategy(prompt: str, name: str) -> str:
    extra = STRATEGIES[name]
    return f"{prompt}\n\n{extra}" if extra else prompt
